// kernel-without legacy-xtables|nf-netlink COMMAND [ARGUMENT...]
//
// Runs COMMAND as on a host whose kernel lacks a part, with a seccomp filter:
//
// legacy-xtables  no ip_tables/ip6_tables modules: the socket options
//                 libiptc speaks (IPT_SO_* and IP6T_SO_*, 64-69 at the IP and
//                 IPv6 levels) fail with ENOPROTOOPT, the kernel's own answer
//                 when no module registered them. ipset's option (83) and
//                 ebtables' (128+) pass.
// nf-netlink      no way to ask netfilter over netlink: a NETLINK_NETFILTER
//                 socket cannot be opened (EACCES), as under a security
//                 policy that forbids it; nothing else changes.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define FAIL(code) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (code))

int main(int argc, char **argv) {
    struct sock_filter legacy[] = {
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 10),
        LOAD(nr),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 0, 7),
        LOAD(args[1]),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_IP, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_IPV6, 0, 4),
        LOAD(args[2]),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 64, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 69, 1, 0),
        FAIL(ENOPROTOOPT),
        ALLOW,
    };
    struct sock_filter netlink[] = {
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 6),
        LOAD(nr),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4),
        LOAD(args[0]),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 2),
        LOAD(args[2]),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_NETFILTER, 1, 0),
        ALLOW,
        FAIL(EACCES),
    };
    struct sock_fprog program;
    if (argc >= 3 && strcmp(argv[1], "legacy-xtables") == 0) {
        program = (struct sock_fprog){.len = sizeof(legacy) / sizeof(legacy[0]), .filter = legacy};
    } else if (argc >= 3 && strcmp(argv[1], "nf-netlink") == 0) {
        program = (struct sock_fprog){.len = sizeof(netlink) / sizeof(netlink[0]), .filter = netlink};
    } else {
        fprintf(stderr, "usage: kernel-without legacy-xtables|nf-netlink COMMAND [ARGUMENT...]\n");
        return 2;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("kernel-without: seccomp");
        return 2;
    }
    execvp(argv[2], argv + 2);
    perror("kernel-without: exec");
    return 127;
}
