/// All four text forms of a ruleset, for `plan`, tests and debugging.
public struct RulesetText: Equatable, Sendable {
    public var iptables: String
    public var ip6tables: String
    public var ipset: String
    public var ebtables: String

    public init(_ ruleset: Ruleset) {
        iptables = IPTablesSaveFormat.text(ruleset.ipv4)
        ip6tables = IPTablesSaveFormat.text(ruleset.ipv6)
        ipset = IPSetSaveFormat.text(ruleset.ipsets)
        ebtables = EbtablesSaveFormat.text(ruleset.ebtables)
    }
}
