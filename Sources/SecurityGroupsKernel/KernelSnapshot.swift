public import SecurityGroupsCore

/// Everything netfilter holds that our layouts touch, read without changing
/// anything (and without the xtables lock, like iptables-save).
public struct KernelSnapshot: Sendable {
    public var tables: [AddressFamily: [KernelTableState]]
    public var sets: [KernelSet]
    public var ebtables: KernelEbtablesState

    public init(tables: [AddressFamily: [KernelTableState]], sets: [KernelSet], ebtables: KernelEbtablesState) {
        self.tables = tables
        self.sets = sets
        self.ebtables = ebtables
    }

    static func read(tables store: any IPTablesStore) throws(NetfilterError) -> KernelSnapshot {
        var tables: [AddressFamily: [KernelTableState]] = [:]
        for family in AddressFamily.allCases {
            for name in IPTable.Name.allCases {
                tables[family, default: []].append(try store.read(name, family, scope: .host))
            }
        }
        return KernelSnapshot(tables: tables, sets: try IPSetBackend.save(), ebtables: try EbtablesBackend.save())
    }

    /// What is ours, as text in each tool's save format; rules in our chains
    /// that we cannot decode are counted in a comment.
    public var ownedText: RulesetText {
        func iptablesText(_ family: AddressFamily) -> String {
            (tables[family] ?? []).map { state in
                let (table, opaque) = state.owned()
                let note = opaque > 0 ? "# \(opaque) rule(s) in our chains not understood\n" : ""
                return note + IPTablesSaveFormat.text(table)
            }.joined()
        }
        let ours = sets.filter { Ownership.ownsSet($0.name) }
        var ipset = ""
        for set in ours {
            let family = set.family == .ipv6 ? "inet6" : "inet"
            ipset += "create \(set.name) \(set.type) family \(family)\n" + set.members.map { "add \(set.name) \($0)\n" }.joined()
        }
        return RulesetText(iptables: iptablesText(.ipv4), ip6tables: iptablesText(.ipv6), ipset: ipset, ebtables: ebtables.ownedText())
    }
}
