/// All four text forms of a ruleset, for `plan`, tests and debugging.
public struct RulesetText: Equatable, Sendable {
    /// The four sections under `# tool` headers, as `plan` and `show` print them.
    public func sections(header: String) -> String {
        "# \(header)\n# iptables-save\n\(iptables)# ip6tables-save\n\(ip6tables)# ipset save\n\(ipset)# ebtables-save\n\(ebtables)"
    }

    public var iptables: String
    public var ip6tables: String
    public var ipset: String
    public var ebtables: String

    public init(iptables: String, ip6tables: String, ipset: String, ebtables: String) {
        self.iptables = iptables
        self.ip6tables = ip6tables
        self.ipset = ipset
        self.ebtables = ebtables
    }

    public init(_ ruleset: Ruleset) {
        iptables = IPTablesSaveFormat.text(ruleset.ipv4)
        ip6tables = IPTablesSaveFormat.text(ruleset.ipv6)
        ipset = IPSetSaveFormat.text(ruleset.ipsets)
        ebtables = EbtablesSaveFormat.text(ruleset.ebtables)
    }
}
