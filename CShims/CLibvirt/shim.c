// Thin libvirt shim: read-only domain queries, errors returned, never printed.
#include "CLibvirt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

long sg_virt_library_version(void)
{
    unsigned long version = 0;
    if (virGetVersion(&version, NULL, NULL) < 0)
        return -1;
    return (long)version;
}

static void sg_virt_silent(void *data, virErrorPtr error)
{
    (void)data;
    (void)error;
}

static void sg_virt_error(char *error, size_t size)
{
    virErrorPtr last = virGetLastError();
    snprintf(error, size, "%s", last && last->message ? last->message : "unknown libvirt error");
}

void *sg_virt_connect(const char *uri, char *error, size_t error_size)
{
    virSetErrorFunc(NULL, sg_virt_silent);
    virConnectPtr connection = virConnectOpenReadOnly(uri);
    if (connection == NULL)
        sg_virt_error(error, error_size);
    return connection;
}

void sg_virt_disconnect(void *connection)
{
    if (connection != NULL)
        virConnectClose(connection);
}

static void sg_virt_fill(virDomainPtr source, struct sg_domain *domain)
{
    const char *name = virDomainGetName(source);
    snprintf(domain->name, sizeof(domain->name), "%s", name ? name : "");
    unsigned int id = virDomainGetID(source);
    domain->id = id == (unsigned int)-1 ? -1 : (int)id;
    int state = 0, reason = 0;
    if (virDomainGetState(source, &state, &reason, 0) < 0)
        state = -1;
    domain->state = state;
}

int sg_virt_domain(void *connection, const char *name, struct sg_domain *domain, char *error, size_t error_size)
{
    virDomainPtr found = virDomainLookupByName(connection, name);
    if (found == NULL) {
        virErrorPtr last = virGetLastError();
        if (last && last->code == VIR_ERR_NO_DOMAIN)
            return 0;
        sg_virt_error(error, error_size);
        return -1;
    }
    sg_virt_fill(found, domain);
    virDomainFree(found);
    return 1;
}

int sg_virt_domains(void *connection, struct sg_domain **domains, char *error, size_t error_size)
{
    virDomainPtr *list = NULL;
    int count = virConnectListAllDomains(connection, &list, 0);
    if (count < 0) {
        sg_virt_error(error, error_size);
        return -1;
    }
    *domains = calloc(count > 0 ? count : 1, sizeof(struct sg_domain));
    for (int i = 0; i < count; i++) {
        sg_virt_fill(list[i], &(*domains)[i]);
        virDomainFree(list[i]);
    }
    free(list);
    return count;
}

char *sg_virt_domain_xml(void *connection, const char *name, int *missing, char *error, size_t error_size)
{
    *missing = 0;
    virDomainPtr domain = virDomainLookupByName(connection, name);
    if (domain == NULL) {
        virErrorPtr last = virGetLastError();
        *missing = last && last->code == VIR_ERR_NO_DOMAIN;
        sg_virt_error(error, error_size);
        return NULL;
    }
    char *xml = virDomainGetXMLDesc(domain, 0);
    if (xml == NULL)
        sg_virt_error(error, error_size);
    virDomainFree(domain);
    return xml;
}
