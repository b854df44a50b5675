// Thin libiptc shim: forwards to libiptc and libip6tc (one handle type for
// both families), and asks the kernel for set indexes. The entries
// themselves are built and read in Swift (KernelEntry.swift) over the
// kernel's structures; the sizes it relies on, as iptables-legacy 1.8.9
// lays them out, are checked here.
#include "CIPTables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <xtables.h>

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
