private import Glibc

/// The chains nf_tables holds, listed over netlink (`NFT_MSG_GETCHAIN`).
enum NFTablesChains {
    /// One chain: its family (`ip`, `ip6`, `inet`, `bridge`...), table and name.
    struct Chain: Equatable, Sendable {
        var family: String
        var table: String
        var name: String
    }

    /// `family` of `list(family:)`: the bridge family, where ebtables-nft keeps its tables.
    static let bridge: UInt8 = 7                                  // NFPROTO_BRIDGE

    /// Every chain of every table of `family` (0: all families); empty when
    /// the kernel has no nf_tables.
    static func list(family: UInt8 = 0) throws(NetfilterError) -> [Chain] {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        let getChain: UInt16 = 10 << 8 | 4                        // NFNL_SUBSYS_NFTABLES, NFT_MSG_GETCHAIN
        try socket.send(type: getChain, flags: NetfilterNetlink.request | NetfilterNetlink.dump, family: family, attributes: [])
        var chains: [Chain] = []
        do {
            try socket.receive { family, attributes in
                var table = "", name = ""
                for (type, _, payload) in NetfilterNetlink.attributes(attributes) {
                    if type == 1 { table = NetfilterNetlink.string(payload) }    // NFTA_CHAIN_TABLE
                    if type == 3 { name = NetfilterNetlink.string(payload) }     // NFTA_CHAIN_NAME
                }
                chains.append(Chain(family: familyName(family), table: table, name: name))
            }
        } catch where [EOPNOTSUPP, EPROTONOSUPPORT, ENOENT].contains(error.errno ?? 0) {
            return []
        }
        return chains
    }

    private static func familyName(_ family: UInt8) -> String {
        switch Int32(family) {
        case 1: "inet"
        case 2: "ip"
        case 3: "arp"
        case 5: "netdev"
        case 7: "bridge"
        case 10: "ip6"
        default: "family \(family)"
        }
    }
}
