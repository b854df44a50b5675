// Thin libvirt shim: read-only domain queries, errors returned, never printed.
// libvirt is loaded when first used (dlopen), not when the process starts:
// with its dependencies it is most of a process's start-up (about 10 ms),
// and most commands in a burst never ask libvirt anything (another process
// carries them out).
#include "CLibvirt.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static struct {
    __typeof__(&virGetVersion) GetVersion;
    __typeof__(&virGetLastError) GetLastError;
    __typeof__(&virSetErrorFunc) SetErrorFunc;
    __typeof__(&virConnectOpenReadOnly) ConnectOpenReadOnly;
    __typeof__(&virConnectClose) ConnectClose;
    __typeof__(&virConnectListAllDomains) ConnectListAllDomains;
    __typeof__(&virDomainLookupByName) DomainLookupByName;
    __typeof__(&virDomainGetName) DomainGetName;
    __typeof__(&virDomainGetID) DomainGetID;
    __typeof__(&virDomainGetState) DomainGetState;
    __typeof__(&virDomainGetXMLDesc) DomainGetXMLDesc;
    __typeof__(&virDomainFree) DomainFree;
} virt;
static pthread_once_t virt_once = PTHREAD_ONCE_INIT;
static char virt_failure[256];

static void virt_load(void)
{
    void *library = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(virt_failure, sizeof(virt_failure), "cannot load libvirt: %s", dlerror());
        return;
    }
#define SG_VIRT_SYMBOL(field, name) \
    if ((*(void **)&virt.field = dlsym(library, #name)) == NULL) { \
        snprintf(virt_failure, sizeof(virt_failure), "libvirt has no %s", #name); \
        return; \
    }
    SG_VIRT_SYMBOL(GetVersion, virGetVersion)
    SG_VIRT_SYMBOL(GetLastError, virGetLastError)
    SG_VIRT_SYMBOL(SetErrorFunc, virSetErrorFunc)
    SG_VIRT_SYMBOL(ConnectOpenReadOnly, virConnectOpenReadOnly)
    SG_VIRT_SYMBOL(ConnectClose, virConnectClose)
    SG_VIRT_SYMBOL(ConnectListAllDomains, virConnectListAllDomains)
    SG_VIRT_SYMBOL(DomainLookupByName, virDomainLookupByName)
    SG_VIRT_SYMBOL(DomainGetName, virDomainGetName)
    SG_VIRT_SYMBOL(DomainGetID, virDomainGetID)
    SG_VIRT_SYMBOL(DomainGetState, virDomainGetState)
    SG_VIRT_SYMBOL(DomainGetXMLDesc, virDomainGetXMLDesc)
    SG_VIRT_SYMBOL(DomainFree, virDomainFree)
#undef SG_VIRT_SYMBOL
}

/// Loads libvirt once; 0, or -1 with the reason in `error`.
static int virt_loaded(char *error, size_t error_size)
{
    pthread_once(&virt_once, virt_load);
    if (virt_failure[0] == 0)
        return 0;
    if (error != NULL)
        snprintf(error, error_size, "%s", virt_failure);
    return -1;
}

long sg_virt_library_version(void)
{
    unsigned long version = 0;
    if (virt_loaded(NULL, 0) < 0 || virt.GetVersion(&version, NULL, NULL) < 0)
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
    virErrorPtr last = virt.GetLastError();
    snprintf(error, size, "%s", last && last->message ? last->message : "unknown libvirt error");
}

void *sg_virt_connect(const char *uri, char *error, size_t error_size)
{
    if (virt_loaded(error, error_size) < 0)
        return NULL;
    virt.SetErrorFunc(NULL, sg_virt_silent);
    virConnectPtr connection = virt.ConnectOpenReadOnly(uri);
    if (connection == NULL)
        sg_virt_error(error, error_size);
    return connection;
}

void sg_virt_disconnect(void *connection)
{
    if (connection != NULL)
        virt.ConnectClose(connection);
}

static void sg_virt_fill(virDomainPtr source, struct sg_domain *domain)
{
    const char *name = virt.DomainGetName(source);
    snprintf(domain->name, sizeof(domain->name), "%s", name ? name : "");
    unsigned int id = virt.DomainGetID(source);
    domain->id = id == (unsigned int)-1 ? -1 : (int)id;
    int state = 0, reason = 0;
    if (virt.DomainGetState(source, &state, &reason, 0) < 0)
        state = -1;
    domain->state = state;
}

int sg_virt_domain(void *connection, const char *name, struct sg_domain *domain, char *error, size_t error_size)
{
    virDomainPtr found = virt.DomainLookupByName(connection, name);
    if (found == NULL) {
        virErrorPtr last = virt.GetLastError();
        if (last && last->code == VIR_ERR_NO_DOMAIN)
            return 0;
        sg_virt_error(error, error_size);
        return -1;
    }
    sg_virt_fill(found, domain);
    virt.DomainFree(found);
    return 1;
}

int sg_virt_domains(void *connection, struct sg_domain **domains, char *error, size_t error_size)
{
    virDomainPtr *list = NULL;
    int count = virt.ConnectListAllDomains(connection, &list, 0);
    if (count < 0) {
        sg_virt_error(error, error_size);
        return -1;
    }
    *domains = calloc(count > 0 ? count : 1, sizeof(struct sg_domain));
    for (int i = 0; i < count; i++) {
        sg_virt_fill(list[i], &(*domains)[i]);
        virt.DomainFree(list[i]);
    }
    free(list);
    return count;
}

char *sg_virt_domain_xml(void *connection, const char *name, int *missing, char *error, size_t error_size)
{
    *missing = 0;
    virDomainPtr domain = virt.DomainLookupByName(connection, name);
    if (domain == NULL) {
        virErrorPtr last = virt.GetLastError();
        *missing = last && last->code == VIR_ERR_NO_DOMAIN;
        sg_virt_error(error, error_size);
        return NULL;
    }
    char *xml = virt.DomainGetXMLDesc(domain, 0);
    if (xml == NULL)
        sg_virt_error(error, error_size);
    virt.DomainFree(domain);
    return xml;
}
