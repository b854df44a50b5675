import SecurityGroupsCore

extension AddressFamily {
    /// The tool that names this family's tables in messages: `iptables`, `ip6tables`.
    var iptablesTool: String { self == .ipv4 ? "iptables" : "ip6tables" }

    /// How messages name one of this family's tables: `iptables filter`.
    func tableObject(_ table: IPTable.Name) -> String { "\(iptablesTool) \(table.rawValue)" }

    /// The nf_tables family of its iptables tables (`NFPROTO_IPV4`, `NFPROTO_IPV6`).
    var nfTablesFamily: UInt8 { self == .ipv4 ? NFTablesChains.ipv4 : NFTablesChains.ipv6 }
}
