#include "CIPSet.h"

#include <libipset/ipset.h>

static int sg_ipset_silent_print(struct ipset_session *session, void *p, const char *fmt, ...)
{
    (void)session; (void)p; (void)fmt;
    return 0;
}

int sg_ipset_probe(void)
{
    ipset_load_types();
    struct ipset *handle = ipset_init();
    if (handle == NULL)
        return -1;
    ipset_custom_printf(handle, NULL, NULL, sg_ipset_silent_print, NULL);
    ipset_fini(handle);
    return 0;
}

int sg_ipset_protocol(void) { return IPSET_PROTOCOL; }
