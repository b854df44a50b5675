#include "CLibvirt.h"

#include <stddef.h>
#include <libvirt/libvirt.h>

long sg_virt_library_version(void)
{
    unsigned long version = 0;
    if (virGetVersion(&version, NULL, NULL) < 0)
        return -1;
    return (long)version;
}
