// The kernel's floor for tables: for each FAMILY:TABLE argument, a libiptc
// init + commit of the table as it is (the whole blob copied out of and back
// into the kernel), nothing else, all in one process.
// libiptc skips a commit when nothing changed, so a scratch chain is created
// and deleted first: the table is the same, but it is really written back.
// usage: table-floor 4:filter 6:filter ...
#include <stdio.h>
#include <string.h>
#include <errno.h>
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

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: table-floor 4|6:TABLE ...\n"); return 2; }
    for (int i = 1; i < argc; i++) {
        char family[2] = { argv[i][0], 0 };
        if (argv[i][1] != ':' || !floor_one(family, argv[i] + 2)) return 1;
    }
    return 0;
}
