#ifndef SG_CNFTABLES_H
#define SG_CNFTABLES_H

/// Runs an nft command that lists (`list table ...`) through libnftables:
/// returns 0 with nft's output in `output`, or -1 with nft's message (or
/// why libnftables could not be loaded) in `error`; both malloc'd for the
/// caller to free. Calls are serialized: libnftables as Debian builds it
/// links libxtables, which is not thread-safe.
int sg_nft_query(const char *script, char **output, char **error);

#endif
