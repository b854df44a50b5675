// The kernel's floor for tables: for each FAMILY:TABLE argument, a libiptc
// init + commit of the table as it is (the whole blob copied out of and back
// into the kernel), nothing else, all in one process.
// libiptc skips a commit when nothing changed, so a scratch chain is created
// and deleted first: the table is the same, but it is really written back.
// With -p the IPv4 and IPv6 arguments run on two threads side by side (each
// family in order), as security-groups does; without it, one after another.
// usage: table-floor [-p] 4:filter 6:filter ...
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>

static int floor_one(const char *family, const char *table)
{
    xt_chainlabel scratch = "sg-floor";
    if (strcmp(family, "4") == 0) {
        struct xtc_handle *h = iptc_init(table);
        int ok = h && iptc_create_chain(scratch, h) && iptc_delete_chain(scratch, h) && iptc_commit(h);
        if (!ok) fprintf(stderr, "%s: %s\n", table, iptc_strerror(errno));
        if (h) iptc_free(h);
        return ok;
    }
    struct xtc_handle *h = ip6tc_init(table);
    int ok = h && ip6tc_create_chain(scratch, h) && ip6tc_delete_chain(scratch, h) && ip6tc_commit(h);
    if (!ok) fprintf(stderr, "%s: %s\n", table, ip6tc_strerror(errno));
    if (h) ip6tc_free(h);
    return ok;
}

struct family_run { char family; int argc; char **argv; int ok; };

// Every argument of one family (or of both when family is 0), in order.
static void *run_family(void *arg)
{
    struct family_run *run = arg;
    run->ok = 1;
    for (int i = 0; i < run->argc && run->ok; i++) {
        char family[2] = { run->argv[i][0], 0 };
        if (run->family && run->family != family[0]) continue;
        run->ok = floor_one(family, run->argv[i] + 2);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int side_by_side = argc > 1 && strcmp(argv[1], "-p") == 0;
    argc -= 1 + side_by_side;
    argv += 1 + side_by_side;
    if (argc < 1) { fprintf(stderr, "usage: table-floor [-p] 4|6:TABLE ...\n"); return 2; }
    for (int i = 0; i < argc; i++) {
        if ((argv[i][0] != '4' && argv[i][0] != '6') || argv[i][1] != ':') { fprintf(stderr, "bad argument %s\n", argv[i]); return 2; }
    }
    if (!side_by_side) {
        struct family_run all = { 0, argc, argv, 0 };
        run_family(&all);
        return all.ok ? 0 : 1;
    }
    struct family_run ipv4 = { '4', argc, argv, 0 }, ipv6 = { '6', argc, argv, 0 };
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_family, &ipv6) != 0) { perror("pthread_create"); return 1; }
    run_family(&ipv4);
    pthread_join(thread, NULL);
    return ipv4.ok && ipv6.ok ? 0 : 1;
}
