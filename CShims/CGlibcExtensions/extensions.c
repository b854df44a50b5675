#define _GNU_SOURCE
#include <malloc.h>
#include <sched.h>
#include <unistd.h>
#include "CGlibcExtensions.h"

int sg_setns_network(int fd) { return setns(fd, CLONE_NEWNET); }
int sg_syncfs(int fd) { return syncfs(fd); }
int sg_malloc_trim(void) { return malloc_trim(0); }
