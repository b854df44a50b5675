#ifndef SG_CNFTABLES_H
#define SG_CNFTABLES_H

/// Runs an nft script through libnftables as one kernel transaction: all of
/// it, or nothing. Returns 0, or -1 with nft's message (or why libnftables
/// could not be loaded) in `error`, malloc'd for the caller to free. Calls
/// are serialized: libnftables as Debian builds it links libxtables, which
/// is not thread-safe.
int sg_nft_run(const char *script, char **error);

/// The same for a script that lists (`list table ...`): nft's output in
/// `output` (malloc'd) on success.
int sg_nft_query(const char *script, char **output, char **error);

#endif
