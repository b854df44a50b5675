private import Glibc

/// The chains nf_tables holds, asked over netlink (`NFT_MSG_GETCHAIN`).
enum NFTablesChains {
    /// One chain: its family (`ip`, `ip6`, `inet`, `bridge`...), table and name.
    struct Chain: Equatable, Sendable {
        var family: String
        var table: String
        var name: String
    }

    /// Address families (`NFPROTO_*`) to ask about.
    static let (ipv4, ipv6, bridge): (UInt8, UInt8, UInt8) = (2, 10, 7)
    private static let (tableAttribute, nameAttribute, useAttribute): (UInt16, UInt16, UInt16) = (1, 3, 6)   // NFTA_CHAIN_TABLE, _NAME, _USE

    /// Every chain of every table of `family`; empty when the kernel has no
    /// nf_tables. The kernel filters by family, so a host's thousands of
    /// ebtables chains cost nothing when asking about iptables'.
    static func list(family: UInt8) throws(NetfilterError) -> [Chain] {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        try socket.send(type: NFTablesMessages.getChain, flags: NetfilterNetlink.request | NetfilterNetlink.dump, family: family, attributes: [])
        var chains: [Chain] = []
        do {
            try socket.receive { family, attributes in
                var table = "", name = ""
                NetfilterNetlink.forEachAttribute(attributes) { type, payload in
                    if type == tableAttribute { table = NetfilterNetlink.string(payload) }
                    if type == nameAttribute { name = NetfilterNetlink.string(payload) }
                }
                chains.append(Chain(family: familyName(family), table: table, name: name))
            }
        } catch where [EOPNOTSUPP, EPROTONOSUPPORT, ENOENT].contains(error.errno ?? 0) {
            return []
        }
        return chains
    }

    /// The names of `family`'s tables (`NFT_MSG_GETTABLE`); empty without nf_tables.
    static func tables(family: UInt8) throws(NetfilterError) -> [String] {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        try socket.send(type: 10 << 8 | 1, flags: NetfilterNetlink.request | NetfilterNetlink.dump, family: family, attributes: [])
        var tables: [String] = []
        do {
            try socket.receive { _, attributes in
                NetfilterNetlink.forEachAttribute(attributes) { type, payload in
                    if type == 1 { tables.append(NetfilterNetlink.string(payload)) }                     // NFTA_TABLE_NAME
                }
            }
        } catch where [EOPNOTSUPP, EPROTONOSUPPORT, ENOENT].contains(error.errno ?? 0) {
            return []
        }
        return tables
    }

    /// The chains of `family` outside `excluded`, named by the rules of the
    /// other tables (a rules dump filtered by table: the kernel then walks
    /// only those tables, not `excluded`'s thousands of chains). A chain
    /// without rules is not named.
    static func chainsWithRules(family: UInt8, excluding excluded: String) throws(NetfilterError) -> [Chain] {
        var chains: [Chain] = []
        for table in try tables(family: family) where table != excluded {
            let names = Set(try NFTablesRules.list(family: family, table: table).map(\.chain))
            chains += names.sorted().map { Chain(family: familyName(family), table: table, name: $0) }
        }
        return chains
    }

    /// Which of `names` exist in `table` of `family`: one request each,
    /// so the cost follows the names asked about, not the table's size.
    static func existing(_ names: [String], family: UInt8, table: String) throws(NetfilterError) -> Set<String> {
        Set(try uses(names, family: family, table: table).keys)
    }

    /// The use count of each of `names` that exists in `table` of `family`
    /// (`NFTA_CHAIN_USE`: its rules and the rules and map elements that
    /// jump to it), one request each.
    static func uses(_ names: [String], family: UInt8, table: String) throws(NetfilterError) -> [String: UInt32] {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        var found: [String: UInt32] = [:]
        for name in Set(names) {
            try socket.send(type: NFTablesMessages.getChain, flags: NetfilterNetlink.request | NetfilterNetlink.acknowledge, family: family,
                            attributes: NetfilterNetlink.stringAttribute(tableAttribute, table) + NetfilterNetlink.stringAttribute(nameAttribute, name))
            do {
                var use: UInt32 = 0
                try socket.receive { _, attributes in
                    NetfilterNetlink.forEachAttribute(attributes) { type, payload in
                        if type == useAttribute { use = NetfilterNetlink.u32(payload) }
                    }
                }
                found[name] = use
            } catch where [ENOENT, EOPNOTSUPP, EPROTONOSUPPORT].contains(error.errno ?? 0) {
                continue
            }
        }
        return found
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
