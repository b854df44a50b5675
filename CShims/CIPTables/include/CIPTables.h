#ifndef SG_CIPTABLES_H
#define SG_CIPTABLES_H

#include <stddef.h>
#include <stdint.h>

/// The xtables version libiptc and libxtables were built as (XTABLES_VERSION).
const char *sg_xtables_version(void);

/// libiptc's message for `err` after a failed IPv4 call (iptc_strerror).
const char *sg_iptc_strerror(int err);

/// libip6tc's message for `err` after a failed IPv6 call (ip6tc_strerror).
const char *sg_ip6tc_strerror(int err);

// MARK: - The kernel's entry structures, for Swift to encode and decode

#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>
#include <linux/netfilter/xt_physdev.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter_ipv6/ip6t_hl.h>

// MARK: - Tables

/// A libiptc handle on one table of one family (iptc_init / ip6tc_init).
typedef struct sg_table sg_table;

/// Opens `table`; NULL with errno set on failure.
sg_table *sg_table_open(int family, const char *table);
void sg_table_free(sg_table *table);
/// iptc_commit; 0 or -1 with errno. The handle cannot be used afterwards
/// except to free it.
int sg_table_commit(sg_table *table);

const char *sg_table_first_chain(sg_table *table);
const char *sg_table_next_chain(sg_table *table);
int sg_table_is_builtin(sg_table *table, const char *chain);
int sg_table_create_chain(sg_table *table, const char *chain);
int sg_table_flush_chain(sg_table *table, const char *chain);
int sg_table_delete_chain(sg_table *table, const char *chain);

const void *sg_table_first_rule(sg_table *table, const char *chain);
const void *sg_table_next_rule(sg_table *table, const void *previous);
/// The target name of an entry: ACCEPT, DROP, RETURN, a chain, or an extension.
const char *sg_table_rule_target(sg_table *table, const void *entry);

int sg_table_insert(sg_table *table, const char *chain, const void *entry, unsigned int index);
int sg_table_append(sg_table *table, const char *chain, const void *entry);
int sg_table_delete_at(sg_table *table, const char *chain, unsigned int index);

// MARK: - ipset names in rules

/// The kernel index of set `name` in the current network namespace
/// (getsockopt SO_IP_SET, IP_SET_OP_GET_BYNAME). 0 or -1 with errno.
int sg_ipset_index(const char *name, uint16_t *index);
/// The name of the set with kernel index `index` (IP_SET_OP_GET_BYINDEX).
int sg_ipset_name(uint16_t index, char name[32]);

#endif
