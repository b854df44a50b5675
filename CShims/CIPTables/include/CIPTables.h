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

// MARK: - Rules, flattened for Swift

enum sg_match_kind {
    SG_MATCH_PHYSDEV = 1,
    SG_MATCH_TCP,
    SG_MATCH_UDP,
    SG_MATCH_ICMP,
    SG_MATCH_ICMP6,
    SG_MATCH_STATE,
    SG_MATCH_SET,
    SG_MATCH_HL_EQ,
    SG_MATCH_ADDRTYPE,
};

/// One match; which fields count depends on `kind`.
struct sg_match {
    int kind;
    char physdev_in[16];        /// a name, or a prefix and "+"
    char physdev_out[16];
    uint8_t physdev_bitmask;    /// XT_PHYSDEV_OP_* bits
    uint16_t sport[2];          /// tcp/udp, host order
    uint16_t dport[2];
    uint8_t icmp_type;          /// icmp/icmp6
    uint8_t icmp_code[2];
    uint16_t state_mask;        /// conntrack state bits (XT_CONNTRACK_STATE_BIT)
    uint16_t set_index;         /// set: kernel set index, dimension 1
    uint8_t set_flags;          /// IPSET_DIM_ONE_SRC, IPSET_DIM_TWO_SRC, IPSET_INV_MATCH
    uint8_t set_dim;            /// dimensions matched: 1, or 2 (address and port)
    uint32_t set_cmdflags;      /// match flags; IPSET_FLAG_PHYSDEV: the port dimension reads bridge ports
    uint8_t hop_limit;          /// hl --hl-eq
    uint16_t addrtype_dest;     /// addrtype rev 1: destination type mask
    uint32_t addrtype_flags;    /// XT_ADDRTYPE_INVERT_*
};

enum sg_target_kind {
    /// ACCEPT, DROP, RETURN or a user chain, named in target_name.
    SG_TARGET_STANDARD = 1,
    SG_TARGET_DNAT,
    SG_TARGET_NOTRACK,
};

#define SG_MAX_MATCHES 6

/// One rule of the kinds our layouts use.
struct sg_rule {
    uint8_t src[16];            /// network byte order; 4 bytes used for IPv4
    uint8_t dst[16];
    uint8_t src_prefix;
    uint8_t dst_prefix;
    uint8_t src_inverted;
    uint8_t dst_inverted;
    char in_interface[16];
    char out_interface[16];
    uint16_t protocol;          /// 0: any
    int match_count;
    struct sg_match matches[SG_MAX_MATCHES];
    int target_kind;
    char target_name[32];
    uint8_t dnat_address[4];    /// network byte order
    uint16_t dnat_port;         /// host order
};

/// Builds the kernel entry for `rule` exactly as iptables-legacy 1.8.9 would
/// (family 4 or 6). Returns a malloc'd entry to free with `free`, or NULL
/// (errno EINVAL) when the rule cannot be encoded.
void *sg_rule_encode(int family, const struct sg_rule *rule, size_t *size);

/// Decodes an entry read from libiptc. Returns 1 and fills `rule` when the
/// entry is one our encoder produces byte for byte; 0 when it holds anything
/// else (an opaque, foreign rule).
int sg_rule_decode(int family, const void *entry, const char *target_name, struct sg_rule *rule);

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
