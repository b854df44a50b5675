// The kernel's floor for one table: libiptc init + commit of the table as it
// is (the whole blob copied out of and back into the kernel), nothing else.
// libiptc skips a commit when nothing changed, so a scratch chain is created
// and deleted first: the table is the same, but it is really written back.
// usage: table-floor 4|6 TABLE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: table-floor 4|6 TABLE\n"); return 2; }
    int ok;
    xt_chainlabel scratch = "sg-floor";
    if (strcmp(argv[1], "4") == 0) {
        struct xtc_handle *h = iptc_init(argv[2]);
        ok = h && iptc_create_chain(scratch, h) && iptc_delete_chain(scratch, h) && iptc_commit(h);
        if (!ok) fprintf(stderr, "%s\n", iptc_strerror(errno));
    } else {
        struct xtc_handle *h = ip6tc_init(argv[2]);
        ok = h && ip6tc_create_chain(scratch, h) && ip6tc_delete_chain(scratch, h) && ip6tc_commit(h);
        if (!ok) fprintf(stderr, "%s\n", ip6tc_strerror(errno));
    }
    return ok ? 0 : 1;
}
