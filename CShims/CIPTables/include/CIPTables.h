#ifndef SG_CIPTABLES_H
#define SG_CIPTABLES_H

/// The xtables version libiptc and libxtables were built as (XTABLES_VERSION).
const char *sg_xtables_version(void);

/// libiptc's message for `err` after a failed IPv4 call (iptc_strerror).
const char *sg_iptc_strerror(int err);

/// libip6tc's message for `err` after a failed IPv6 call (ip6tc_strerror).
const char *sg_ip6tc_strerror(int err);

#endif
