#include "CIPTables.h"

#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>
#include <xtables.h>

const char *sg_xtables_version(void) { return XTABLES_VERSION; }

const char *sg_iptc_strerror(int err) { return iptc_strerror(err); }

const char *sg_ip6tc_strerror(int err) { return ip6tc_strerror(err); }
