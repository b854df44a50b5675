#ifndef SG_CIPSET_H
#define SG_CIPSET_H

/// Opens and closes a libipset session (ipset_session_init/fini): proves the
/// library links and its transport can be set up. Returns 0 on success.
int sg_ipset_probe(void);

/// The ipset netlink protocol version the library speaks (IPSET_PROTOCOL).
int sg_ipset_protocol(void);

#endif
