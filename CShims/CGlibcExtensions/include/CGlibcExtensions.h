// glibc's GNU extensions that Swift's Glibc module leaves out.
#ifndef SG_GLIBC_EXTENSIONS_H
#define SG_GLIBC_EXTENSIONS_H

/// Moves the calling thread into the network namespace of `fd` (setns).
int sg_setns_network(int fd);
/// Flushes the file system that holds `fd` (syncfs).
int sg_syncfs(int fd);
/// Gives freed heap memory back to the system (malloc_trim).
int sg_malloc_trim(void);

#endif
