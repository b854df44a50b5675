#ifndef SG_CIPSET_H
#define SG_CIPSET_H

#include <stddef.h>

/// Opens and closes a libipset handle (ipset_init/fini): proves the library
/// links and can be set up. Returns 0 on success.
int sg_ipset_probe(void);

/// The ipset netlink protocol version the library speaks (IPSET_PROTOCOL).
int sg_ipset_protocol(void);

/// Runs `count` commands in `ipset restore` syntax (one per line, e.g.
/// `add cs_tracked 10.1.0.7`) in one fresh libipset session, stopping at the
/// first that fails. Returns how many succeeded; on failure writes libipset's
/// message to `error`. Nothing is printed.
int sg_ipset_run(const char *const *lines, int count, char *error, size_t error_size);

/// The output of `ipset save [SET]` (every set, or the one named, with its
/// members) as a malloc'd string, or NULL with the reason in `error`.
/// `missing` is set when the named set does not exist.
char *sg_ipset_save(const char *set, int *missing, char *error, size_t error_size);

/// The names of all sets, one per line (`ipset list -n`); NULL on failure,
/// with the reason in `error`. Free the result.
char *sg_ipset_names(char *error, size_t error_size);

#endif
