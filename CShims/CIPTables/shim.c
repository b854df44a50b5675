// Thin libiptc shim: builds and reads the kernel entries of the rules our
// layouts use, byte for byte as iptables-legacy 1.8.9 writes them (see
// shared/docs/netfilter-notes.md), and wraps the handle calls Swift cannot
// reach (flexible-array structs, XT_ALIGN).
#include "CIPTables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>
#include <xtables.h>
#include <linux/netfilter/xt_physdev.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter_ipv6/ip6t_hl.h>

_Static_assert(sizeof(struct ipt_entry) == 112, "ipt_entry");
_Static_assert(sizeof(struct ip6t_entry) == 168, "ip6t_entry");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct xt_physdev_info)) == 104, "physdev");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct xt_conntrack_mtinfo3)) == 200, "conntrack");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct xt_set_info_match_v4)) == 80, "set");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct xt_tcp)) == 48, "tcp");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct xt_udp)) == 48, "udp");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct ipt_icmp)) == 40, "icmp");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct nf_nat_range2)) == 80, "DNAT");
_Static_assert(XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct xt_ct_target_info_v1)) == 104, "CT");
_Static_assert(sizeof(struct xt_standard_target) == 40, "standard target");

const char *sg_xtables_version(void) { return XTABLES_VERSION; }
const char *sg_iptc_strerror(int err) { return iptc_strerror(err); }
const char *sg_ip6tc_strerror(int err) { return ip6tc_strerror(err); }

// MARK: - Encoding

struct sg_buffer {
    unsigned char data[2048];
    size_t used;
};

static void *sg_reserve(struct sg_buffer *buffer, size_t size)
{
    if (buffer->used + size > sizeof(buffer->data))
        return NULL;
    void *at = buffer->data + buffer->used;
    buffer->used += size;
    return at;
}

static int sg_add_match(struct sg_buffer *buffer, const char *name, uint8_t revision, const void *payload, size_t length)
{
    size_t size = XT_ALIGN(sizeof(struct xt_entry_match) + length);
    struct xt_entry_match *match = sg_reserve(buffer, size);
    if (match == NULL)
        return -1;
    match->u.user.match_size = size;
    strncpy(match->u.user.name, name, sizeof(match->u.user.name) - 1);
    match->u.user.revision = revision;
    memcpy(match->data, payload, length);
    return 0;
}

static int sg_add_target(struct sg_buffer *buffer, const char *name, uint8_t revision, const void *payload, size_t length)
{
    size_t size = XT_ALIGN(sizeof(struct xt_entry_target) + length);
    struct xt_entry_target *target = sg_reserve(buffer, size);
    if (target == NULL)
        return -1;
    target->u.user.target_size = size;
    strncpy(target->u.user.name, name, sizeof(target->u.user.name) - 1);
    target->u.user.revision = revision;
    memcpy(target->data, payload, length);
    return 0;
}

/* "NAME" matches that name; "PREFIX+" any name starting with PREFIX: the
 * '+' stays in the name and the mask stops before it, as iptables stores it. */
static void sg_interface(const char *name, char out[IFNAMSIZ], unsigned char mask[IFNAMSIZ])
{
    size_t length = strnlen(name, IFNAMSIZ - 1);
    memcpy(out, name, length);
    if (length > 0 && name[length - 1] == '+')
        memset(mask, 0xff, length - 1);
    else if (length > 0)
        memset(mask, 0xff, length + 1);
}

static void sg_prefix_mask(uint8_t *mask, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int bits = prefix - i * 8;
        mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
    }
}

static int sg_encode_match(struct sg_buffer *buffer, int family, const struct sg_match *m)
{
    switch (m->kind) {
    case SG_MATCH_PHYSDEV: {
        struct xt_physdev_info info;
        memset(&info, 0, sizeof(info));
        sg_interface(m->physdev_in, info.physindev, (unsigned char *)info.in_mask);
        sg_interface(m->physdev_out, info.physoutdev, (unsigned char *)info.out_mask);
        info.bitmask = m->physdev_bitmask;
        return sg_add_match(buffer, "physdev", 0, &info, sizeof(info));
    }
    case SG_MATCH_TCP: {
        struct xt_tcp info;
        memset(&info, 0, sizeof(info));
        memcpy(info.spts, m->sport, sizeof(info.spts));
        memcpy(info.dpts, m->dport, sizeof(info.dpts));
        return sg_add_match(buffer, "tcp", 0, &info, sizeof(info));
    }
    case SG_MATCH_UDP: {
        struct xt_udp info;
        memset(&info, 0, sizeof(info));
        memcpy(info.spts, m->sport, sizeof(info.spts));
        memcpy(info.dpts, m->dport, sizeof(info.dpts));
        return sg_add_match(buffer, "udp", 0, &info, sizeof(info));
    }
    case SG_MATCH_ICMP:
    case SG_MATCH_ICMP6: {
        struct ipt_icmp info;
        memset(&info, 0, sizeof(info));
        info.type = m->icmp_type;
        info.code[0] = m->icmp_code[0];
        info.code[1] = m->icmp_code[1];
        return sg_add_match(buffer, m->kind == SG_MATCH_ICMP ? "icmp" : "icmp6", 0, &info, sizeof(info));
    }
    case SG_MATCH_STATE: {
        // `-m state` is the conntrack match with the state alias flag.
        struct xt_conntrack_mtinfo3 info;
        memset(&info, 0, sizeof(info));
        info.match_flags = XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS;
        info.state_mask = m->state_mask;
        return sg_add_match(buffer, "conntrack", 3, &info, sizeof(info));
    }
    case SG_MATCH_SET: {
        struct xt_set_info_match_v4 info;
        memset(&info, 0, sizeof(info));
        info.match_set.index = m->set_index;
        info.match_set.dim = m->set_dim ? m->set_dim : 1;
        info.flags = m->set_cmdflags;
        info.match_set.flags = m->set_flags;
        return sg_add_match(buffer, "set", 4, &info, sizeof(info));
    }
    case SG_MATCH_HL_EQ: {
        if (family != 6)
            return -1;
        struct ip6t_hl_info info;
        memset(&info, 0, sizeof(info));
        info.mode = IP6T_HL_EQ;
        info.hop_limit = m->hop_limit;
        return sg_add_match(buffer, "hl", 0, &info, sizeof(info));
    }
    case SG_MATCH_ADDRTYPE: {
        struct xt_addrtype_info_v1 info;
        memset(&info, 0, sizeof(info));
        info.dest = m->addrtype_dest;
        info.flags = m->addrtype_flags;
        return sg_add_match(buffer, "addrtype", 1, &info, sizeof(info));
    }
    }
    return -1;
}

static int sg_verdict(const char *name)
{
    if (strcmp(name, "ACCEPT") == 0) return -NF_ACCEPT - 1;
    if (strcmp(name, "DROP") == 0) return -NF_DROP - 1;
    if (strcmp(name, "RETURN") == 0) return XT_RETURN;
    return 0;
}

/// Encodes the target. In `kernel_form` a standard target looks as libiptc
/// returns it when reading: no name, the verdict in place (0 for a jump,
/// whose offset we cannot know).
static int sg_encode_target(struct sg_buffer *buffer, const struct sg_rule *rule, int kernel_form)
{
    switch (rule->target_kind) {
    case SG_TARGET_STANDARD: {
        struct xt_standard_target *target = sg_reserve(buffer, sizeof(*target));
        if (target == NULL || rule->target_name[0] == '\0')
            return -1;
        target->target.u.user.target_size = sizeof(*target);
        if (!kernel_form)
            strncpy(target->target.u.user.name, rule->target_name, sizeof(target->target.u.user.name) - 1);
        target->verdict = sg_verdict(rule->target_name);
        return 0;
    }
    case SG_TARGET_DNAT: {
        struct nf_nat_range2 range;
        memset(&range, 0, sizeof(range));
        range.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
        memcpy(&range.min_addr.ip, rule->dnat_address, 4);
        memcpy(&range.max_addr.ip, rule->dnat_address, 4);
        range.min_proto.tcp.port = htons(rule->dnat_port);
        range.max_proto.tcp.port = htons(rule->dnat_port);
        return sg_add_target(buffer, "DNAT", 2, &range, sizeof(range));
    }
    case SG_TARGET_NOTRACK: {
        struct xt_ct_target_info_v1 info;
        memset(&info, 0, sizeof(info));
        info.flags = XT_CT_NOTRACK;
        return sg_add_target(buffer, "CT", 2, &info, sizeof(info));
    }
    }
    return -1;
}

static int sg_encode(struct sg_buffer *buffer, int family, const struct sg_rule *rule, int kernel_form)
{
    memset(buffer, 0, sizeof(*buffer));
    size_t header = family == 4 ? sizeof(struct ipt_entry) : sizeof(struct ip6t_entry);
    if (sg_reserve(buffer, header) == NULL || rule->match_count < 0 || rule->match_count > SG_MAX_MATCHES)
        return -1;
    if (family == 4) {
        struct ipt_entry *entry = (struct ipt_entry *)buffer->data;
        if (rule->src_prefix > 32 || rule->dst_prefix > 32)
            return -1;
        sg_prefix_mask((uint8_t *)&entry->ip.smsk, 4, rule->src_prefix);
        sg_prefix_mask((uint8_t *)&entry->ip.dmsk, 4, rule->dst_prefix);
        entry->ip.src.s_addr = *(const uint32_t *)rule->src & entry->ip.smsk.s_addr;
        entry->ip.dst.s_addr = *(const uint32_t *)rule->dst & entry->ip.dmsk.s_addr;
        sg_interface(rule->in_interface, entry->ip.iniface, entry->ip.iniface_mask);
        sg_interface(rule->out_interface, entry->ip.outiface, entry->ip.outiface_mask);
        entry->ip.proto = rule->protocol;
        entry->ip.invflags = (rule->src_inverted ? IPT_INV_SRCIP : 0) | (rule->dst_inverted ? IPT_INV_DSTIP : 0);
    } else {
        struct ip6t_entry *entry = (struct ip6t_entry *)buffer->data;
        if (rule->src_prefix > 128 || rule->dst_prefix > 128)
            return -1;
        sg_prefix_mask(entry->ipv6.smsk.s6_addr, 16, rule->src_prefix);
        sg_prefix_mask(entry->ipv6.dmsk.s6_addr, 16, rule->dst_prefix);
        for (int i = 0; i < 16; i++) {
            entry->ipv6.src.s6_addr[i] = rule->src[i] & entry->ipv6.smsk.s6_addr[i];
            entry->ipv6.dst.s6_addr[i] = rule->dst[i] & entry->ipv6.dmsk.s6_addr[i];
        }
        sg_interface(rule->in_interface, entry->ipv6.iniface, entry->ipv6.iniface_mask);
        sg_interface(rule->out_interface, entry->ipv6.outiface, entry->ipv6.outiface_mask);
        entry->ipv6.proto = rule->protocol;
        // ip6tables only looks at the protocol when this flag says so.
        entry->ipv6.flags = rule->protocol ? IP6T_F_PROTO : 0;
        entry->ipv6.invflags = (rule->src_inverted ? IP6T_INV_SRCIP : 0) | (rule->dst_inverted ? IP6T_INV_DSTIP : 0);
    }
    for (int i = 0; i < rule->match_count; i++)
        if (sg_encode_match(buffer, family, &rule->matches[i]) < 0)
            return -1;
    size_t target_offset = buffer->used;
    if (sg_encode_target(buffer, rule, kernel_form) < 0)
        return -1;
    if (family == 4) {
        struct ipt_entry *entry = (struct ipt_entry *)buffer->data;
        entry->target_offset = target_offset;
        entry->next_offset = buffer->used;
    } else {
        struct ip6t_entry *entry = (struct ip6t_entry *)buffer->data;
        entry->target_offset = target_offset;
        entry->next_offset = buffer->used;
    }
    return 0;
}

void *sg_rule_encode(int family, const struct sg_rule *rule, size_t *size)
{
    struct sg_buffer buffer;
    if ((family != 4 && family != 6) || sg_encode(&buffer, family, rule, 0) < 0) {
        errno = EINVAL;
        return NULL;
    }
    void *entry = malloc(buffer.used);
    if (entry == NULL)
        return NULL;
    memcpy(entry, buffer.data, buffer.used);
    *size = buffer.used;
    return entry;
}

// MARK: - Decoding

static int sg_prefix_length(const uint8_t *mask, int bytes)
{
    int length = 0;
    for (int i = 0; i < bytes; i++) {
        uint8_t byte = mask[i];
        while (byte & 0x80) {
            length++;
            byte <<= 1;
        }
        if (byte != 0)
            return -1;
        if (mask[i] != 0xff) {
            for (int j = i + 1; j < bytes; j++)
                if (mask[j] != 0)
                    return -1;
            break;
        }
    }
    return length;
}

static int sg_decode_match(const struct xt_entry_match *match, struct sg_match *m)
{
    const char *name = match->u.user.name;
    const void *data = match->data;
    memset(m, 0, sizeof(*m));
    if (strcmp(name, "physdev") == 0) {
        const struct xt_physdev_info *info = data;
        m->kind = SG_MATCH_PHYSDEV;
        memcpy(m->physdev_in, info->physindev, IFNAMSIZ - 1);
        memcpy(m->physdev_out, info->physoutdev, IFNAMSIZ - 1);
        m->physdev_bitmask = info->bitmask;
    } else if (strcmp(name, "tcp") == 0 || strcmp(name, "udp") == 0) {
        const struct xt_udp *info = data;
        m->kind = name[0] == 't' ? SG_MATCH_TCP : SG_MATCH_UDP;
        memcpy(m->sport, info->spts, sizeof(m->sport));
        memcpy(m->dport, info->dpts, sizeof(m->dport));
    } else if (strcmp(name, "icmp") == 0 || strcmp(name, "icmp6") == 0) {
        const struct ipt_icmp *info = data;
        m->kind = name[4] == '6' ? SG_MATCH_ICMP6 : SG_MATCH_ICMP;
        m->icmp_type = info->type;
        m->icmp_code[0] = info->code[0];
        m->icmp_code[1] = info->code[1];
    } else if (strcmp(name, "conntrack") == 0) {
        m->kind = SG_MATCH_STATE;
        m->state_mask = ((const struct xt_conntrack_mtinfo3 *)data)->state_mask;
    } else if (strcmp(name, "set") == 0) {
        const struct xt_set_info_match_v4 *info = data;
        m->kind = SG_MATCH_SET;
        m->set_index = info->match_set.index;
        m->set_flags = info->match_set.flags;
        m->set_dim = info->match_set.dim;
        m->set_cmdflags = info->flags;
    } else if (strcmp(name, "hl") == 0) {
        m->kind = SG_MATCH_HL_EQ;
        m->hop_limit = ((const struct ip6t_hl_info *)data)->hop_limit;
    } else if (strcmp(name, "addrtype") == 0) {
        const struct xt_addrtype_info_v1 *info = data;
        m->kind = SG_MATCH_ADDRTYPE;
        m->addrtype_dest = info->dest;
        m->addrtype_flags = info->flags;
    } else {
        return 0;
    }
    return 1;
}

/// Zeroes what follows the NUL in a match or target name. The kernel writes
/// back only strlen + 1 bytes of each name (xt_obj_to_user), so the rest of
/// the field holds whatever was in libiptc's buffer.
static void sg_clear_name_tail(char *name, size_t size)
{
    size_t length = strnlen(name, size);
    if (length < size)
        memset(name + length, 0, size - length);
}

static int sg_rule_decode_clean(int family, const void *entry_bytes, const char *target_name, struct sg_rule *rule);

int sg_rule_decode(int family, const void *entry_bytes, const char *target_name, struct sg_rule *rule)
{
    memset(rule, 0, sizeof(*rule));
    size_t header = family == 4 ? sizeof(struct ipt_entry) : sizeof(struct ip6t_entry);
    size_t target_offset = family == 4 ? ((const struct ipt_entry *)entry_bytes)->target_offset
                                       : ((const struct ip6t_entry *)entry_bytes)->target_offset;
    size_t next_offset = family == 4 ? ((const struct ipt_entry *)entry_bytes)->next_offset
                                     : ((const struct ip6t_entry *)entry_bytes)->next_offset;
    if (target_offset < header || target_offset + sizeof(struct xt_entry_target) > next_offset
        || next_offset > sizeof(((struct sg_buffer *)0)->data))
        return 0;
    unsigned char copy[sizeof(((struct sg_buffer *)0)->data)] __attribute__((aligned(8)));
    memcpy(copy, entry_bytes, next_offset);
    for (size_t at = header; at < target_offset;) {
        struct xt_entry_match *match = (struct xt_entry_match *)(copy + at);
        if (match->u.match_size < sizeof(*match) || at + match->u.match_size > target_offset)
            return 0;
        sg_clear_name_tail(match->u.user.name, sizeof(match->u.user.name));
        at += match->u.match_size;
    }
    struct xt_entry_target *target = (struct xt_entry_target *)(copy + target_offset);
    sg_clear_name_tail(target->u.user.name, sizeof(target->u.user.name));
    return sg_rule_decode_clean(family, copy, target_name, rule);
}

static int sg_rule_decode_clean(int family, const void *entry_bytes, const char *target_name, struct sg_rule *rule)
{
    size_t header, target_offset, next_offset;
    if (family == 4) {
        const struct ipt_entry *entry = entry_bytes;
        header = sizeof(*entry);
        target_offset = entry->target_offset;
        next_offset = entry->next_offset;
        memcpy(rule->src, &entry->ip.src, 4);
        memcpy(rule->dst, &entry->ip.dst, 4);
        int src = sg_prefix_length((const uint8_t *)&entry->ip.smsk, 4);
        int dst = sg_prefix_length((const uint8_t *)&entry->ip.dmsk, 4);
        if (src < 0 || dst < 0)
            return 0;
        rule->src_prefix = src;
        rule->dst_prefix = dst;
        memcpy(rule->in_interface, entry->ip.iniface, IFNAMSIZ - 1);
        memcpy(rule->out_interface, entry->ip.outiface, IFNAMSIZ - 1);
        rule->protocol = entry->ip.proto;
        rule->src_inverted = (entry->ip.invflags & IPT_INV_SRCIP) != 0;
        rule->dst_inverted = (entry->ip.invflags & IPT_INV_DSTIP) != 0;
    } else {
        const struct ip6t_entry *entry = entry_bytes;
        header = sizeof(*entry);
        target_offset = entry->target_offset;
        next_offset = entry->next_offset;
        memcpy(rule->src, &entry->ipv6.src, 16);
        memcpy(rule->dst, &entry->ipv6.dst, 16);
        int src = sg_prefix_length(entry->ipv6.smsk.s6_addr, 16);
        int dst = sg_prefix_length(entry->ipv6.dmsk.s6_addr, 16);
        if (src < 0 || dst < 0)
            return 0;
        rule->src_prefix = src;
        rule->dst_prefix = dst;
        memcpy(rule->in_interface, entry->ipv6.iniface, IFNAMSIZ - 1);
        memcpy(rule->out_interface, entry->ipv6.outiface, IFNAMSIZ - 1);
        rule->protocol = entry->ipv6.proto;
        rule->src_inverted = (entry->ipv6.invflags & IP6T_INV_SRCIP) != 0;
        rule->dst_inverted = (entry->ipv6.invflags & IP6T_INV_DSTIP) != 0;
    }
    if (target_offset < header || next_offset > 2048 || target_offset >= next_offset)
        return 0;
    for (size_t at = header; at < target_offset;) {
        const struct xt_entry_match *match = (const void *)((const char *)entry_bytes + at);
        if (match->u.match_size < sizeof(*match) || rule->match_count == SG_MAX_MATCHES)
            return 0;
        if (!sg_decode_match(match, &rule->matches[rule->match_count]))
            return 0;
        rule->match_count++;
        at += match->u.match_size;
    }
    const struct xt_entry_target *target = (const void *)((const char *)entry_bytes + target_offset);
    int jump = 0;
    if (strcmp(target->u.user.name, "") == 0) {
        rule->target_kind = SG_TARGET_STANDARD;
        if (target_name == NULL || strlen(target_name) >= sizeof(rule->target_name))
            return 0;
        strcpy(rule->target_name, target_name);
        jump = sg_verdict(target_name) == 0;
    } else if (strcmp(target->u.user.name, "DNAT") == 0 && target->u.user.revision == 2) {
        const struct nf_nat_range2 *range = (const void *)target->data;
        rule->target_kind = SG_TARGET_DNAT;
        memcpy(rule->dnat_address, &range->min_addr.ip, 4);
        rule->dnat_port = ntohs(range->min_proto.tcp.port);
    } else if (strcmp(target->u.user.name, "CT") == 0 && target->u.user.revision == 2) {
        rule->target_kind = SG_TARGET_NOTRACK;
    } else {
        return 0;
    }

    // Understood only if our encoder gives back the same bytes (counters,
    // comefrom and a jump's offset aside): anything we did not decode is
    // then certain to be absent.
    struct sg_buffer buffer;
    if (sg_encode(&buffer, family, rule, 1) < 0 || buffer.used != next_offset)
        return 0;
    size_t ip_header = family == 4 ? sizeof(struct ipt_ip) : sizeof(struct ip6t_ip6);
    if (memcmp(buffer.data, entry_bytes, ip_header) != 0)
        return 0;
    size_t offsets = family == 4 ? offsetof(struct ipt_entry, target_offset) : offsetof(struct ip6t_entry, target_offset);
    if (memcmp(buffer.data + offsets, (const char *)entry_bytes + offsets, 4) != 0)
        return 0;
    size_t compared_end = next_offset;
    if (jump) {
        // xt_standard_target: header, int verdict (the jump offset), padding.
        compared_end = target_offset + sizeof(struct xt_entry_target);
        size_t tail = compared_end + sizeof(int);
        if (memcmp(buffer.data + tail, (const char *)entry_bytes + tail, next_offset - tail) != 0)
            return 0;
    }
    if (memcmp(buffer.data + header, (const char *)entry_bytes + header, compared_end - header) != 0)
        return 0;
    return 1;
}

// MARK: - Tables

struct sg_table {
    int family;
    struct xtc_handle *handle;
};

sg_table *sg_table_open(int family, const char *name)
{
    struct xtc_handle *handle = family == 4 ? iptc_init(name) : ip6tc_init(name);
    if (handle == NULL)
        return NULL;
    sg_table *table = calloc(1, sizeof(*table));
    if (table == NULL) {
        int saved = errno;
        family == 4 ? iptc_free(handle) : ip6tc_free(handle);
        errno = saved;
        return NULL;
    }
    table->family = family;
    table->handle = handle;
    return table;
}

void sg_table_free(sg_table *table)
{
    if (table == NULL)
        return;
    if (table->handle != NULL)
        table->family == 4 ? iptc_free(table->handle) : ip6tc_free(table->handle);
    free(table);
}

int sg_table_commit(sg_table *table)
{
    int ok = table->family == 4 ? iptc_commit(table->handle) : ip6tc_commit(table->handle);
    return ok ? 0 : -1;
}

#define SG_CALL(table, call, ...) \
    ((table)->family == 4 ? iptc_##call(__VA_ARGS__, (table)->handle) : ip6tc_##call(__VA_ARGS__, (table)->handle))

const char *sg_table_first_chain(sg_table *table)
{
    return table->family == 4 ? iptc_first_chain(table->handle) : ip6tc_first_chain(table->handle);
}

const char *sg_table_next_chain(sg_table *table)
{
    return table->family == 4 ? iptc_next_chain(table->handle) : ip6tc_next_chain(table->handle);
}

int sg_table_is_builtin(sg_table *table, const char *chain) { return SG_CALL(table, builtin, chain); }

static int sg_result(int ok) { return ok ? 0 : -1; }

int sg_table_create_chain(sg_table *table, const char *chain) { return sg_result(SG_CALL(table, create_chain, chain)); }
int sg_table_flush_chain(sg_table *table, const char *chain) { return sg_result(SG_CALL(table, flush_entries, chain)); }
int sg_table_delete_chain(sg_table *table, const char *chain) { return sg_result(SG_CALL(table, delete_chain, chain)); }

const void *sg_table_first_rule(sg_table *table, const char *chain)
{
    return table->family == 4 ? (const void *)iptc_first_rule(chain, table->handle)
                              : (const void *)ip6tc_first_rule(chain, table->handle);
}

const void *sg_table_next_rule(sg_table *table, const void *previous)
{
    return table->family == 4 ? (const void *)iptc_next_rule(previous, table->handle)
                              : (const void *)ip6tc_next_rule(previous, table->handle);
}

const char *sg_table_rule_target(sg_table *table, const void *entry)
{
    return table->family == 4 ? iptc_get_target(entry, table->handle) : ip6tc_get_target(entry, table->handle);
}

int sg_table_insert(sg_table *table, const char *chain, const void *entry, unsigned int index)
{
    return sg_result(SG_CALL(table, insert_entry, chain, entry, index));
}

int sg_table_append(sg_table *table, const char *chain, const void *entry)
{
    return sg_result(SG_CALL(table, append_entry, chain, entry));
}

int sg_table_delete_at(sg_table *table, const char *chain, unsigned int index)
{
    return sg_result(SG_CALL(table, delete_num_entry, chain, index));
}

// MARK: - ipset names

static int sg_ipset_request(void *request, socklen_t size)
{
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0)
        return -1;
    int result = getsockopt(fd, SOL_IP, SO_IP_SET, request, &size);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

int sg_ipset_index(const char *name, uint16_t *index)
{
    struct ip_set_req_get_set request;
    memset(&request, 0, sizeof(request));
    request.op = IP_SET_OP_GET_BYNAME;
    request.version = IPSET_PROTOCOL;
    strncpy(request.set.name, name, IPSET_MAXNAMELEN - 1);
    if (sg_ipset_request(&request, sizeof(request)) < 0)
        return -1;
    if (request.set.index == IPSET_INVALID_ID) {
        errno = ENOENT;
        return -1;
    }
    *index = request.set.index;
    return 0;
}

int sg_ipset_name(uint16_t index, char name[32])
{
    struct ip_set_req_get_set request;
    memset(&request, 0, sizeof(request));
    request.op = IP_SET_OP_GET_BYINDEX;
    request.version = IPSET_PROTOCOL;
    request.set.index = index;
    if (sg_ipset_request(&request, sizeof(request)) < 0)
        return -1;
    if (request.set.name[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    memcpy(name, request.set.name, IPSET_MAXNAMELEN);
    name[IPSET_MAXNAMELEN - 1] = '\0';
    return 0;
}
