#ifndef SG_CLIBVIRT_H
#define SG_CLIBVIRT_H

#include <stddef.h>

/// libvirt's library version as major * 1,000,000 + minor * 1,000 + release
/// (virGetVersion), or -1 on failure.
long sg_virt_library_version(void);

/// A read-only libvirt connection (virConnectOpenReadOnly), or NULL with
/// libvirt's message in `error`. libvirt never prints errors by itself once
/// this has been called.
void *sg_virt_connect(const char *uri, char *error, size_t error_size);
void sg_virt_disconnect(void *connection);

/// One domain: its name, its id (-1 when not running) and its state
/// (virDomainState: 1 running, 3 paused, 5 shut off, ...).
struct sg_domain {
    char name[256];
    int id;
    int state;
};

/// Every domain, running or defined (virConnectListAllDomains). Returns the
/// count and a malloc'd array in `domains`, or -1 with the message in `error`.
int sg_virt_domains(void *connection, struct sg_domain **domains, char *error, size_t error_size);

/// One domain by name (virDomainLookupByName): fills `domain` and returns 1,
/// returns 0 when there is no such domain, -1 with the message in `error`.
int sg_virt_domain(void *connection, const char *name, struct sg_domain *domain, char *error, size_t error_size);

/// A domain's XML description (virDomainGetXMLDesc) as a malloc'd string,
/// or NULL with the message in `error` (`missing` set when there is no such domain).
char *sg_virt_domain_xml(void *connection, const char *name, int *missing, char *error, size_t error_size);

#endif
