public import SecurityGroupsCore

/// An iptables table as iptables-nft keeps it in nf_tables (`ip filter`,
/// `ip6 nat`, …), read over netlink as a scope reads the legacy table:
/// built-in chains and the scope's chains with their rules, the other
/// chains only named. The first piece of the nf_tables backend: what the
/// script leaves on an nf_tables host, read as our rules.
public enum IPTablesNFTTable {
    public static func read(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState {
        try readWithHandles(name, family, scope: scope).state
    }

    /// The table, and each read chain's rule handles in rule order (for edits
    /// by position); `exists` false when nf_tables has no such table.
    /// `listed` is the family's chains when the caller has them already.
    /// A scope's few chains are dumped one by one, a whole host's table at once.
    static func readWithHandles(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope,
                                listed: [NFTablesChains.Chain]? = nil) throws(NetfilterError)
        -> (state: KernelTableState, handles: [String: [UInt64]], exists: Bool) {
        let netlinkFamily = family.nfTablesFamily
        let all: [NFTablesChains.Chain]
        if let listed { all = listed } else { all = try NFTablesChains.list(family: netlinkFamily) }
        let chains = all.filter { $0.table == name.rawValue }.map(\.name)
        var state = KernelTableState(name: name, chains: [:])
        var read: [String] = []
        for chain in chains {
            if name.isBuiltin(chain) || scope.readsChain(chain) {
                state.chains[chain] = []
                read.append(chain)
            } else {
                state.otherChains.insert(chain)
            }
        }
        let rules: [NFTablesRules.Rule]
        if case .host = scope {
            rules = try NFTablesRules.list(family: netlinkFamily, table: name.rawValue)
        } else {
            var collected: [NFTablesRules.Rule] = []
            for chain in read { collected += try NFTablesRules.list(family: netlinkFamily, table: name.rawValue, chain: chain) }
            rules = collected
        }
        var codec = RuleCodec()
        var handles: [String: [UInt64]] = [:]
        for rule in rules where state.chains[rule.chain] != nil {
            handles[rule.chain, default: []].append(rule.handle)
            // Ours only when written back it gives the same expressions: what
            // was not read is then certain to be absent.
            let decoded = IPTablesNFTRules.rule(rule.expressions, family: family, sets: &codec).flatMap { decoded in
                (try? IPTablesNFTRules.expressions(decoded, family: family, sets: &codec)) == rule.expressions ? decoded : nil
            }
            let target: String? = if case .jump(let chain)? = decoded?.target { chain } else { nil }
            let kept = decoded.flatMap { scope.decodesRule(in: rule.chain, target: target) ? KernelRule.known($0) : nil } ?? .opaque
            state.chains[rule.chain]!.append(kept)
        }
        return (state, handles, !chains.isEmpty)
    }

    /// What iptables-nft makes before it adds a rule: the table, if
    /// missing, and the built-in chains missing from `existing` (iptables-nft
    /// makes only those it uses), with its hooks and priorities, accepting.
    /// Chains that exist are left alone, their policy too.
    static func tableMessages(_ name: IPTable.Name, _ family: AddressFamily, tableExists: Bool,
                              existing: Set<String>) -> [NetfilterNetlink.Message] {
        let netlinkFamily = family.nfTablesFamily
        let object = family.tableObject(name)
        let table = NFTablesMessages.string(1, name.rawValue)
        var messages: [NetfilterNetlink.Message] = []
        if !tableExists { messages.append((NFTablesMessages.newTable, NFTablesMessages.create, netlinkFamily, table, object)) }
        for chain in name.builtinChains where !existing.contains(chain) {
            let (hook, priority) = Self.hook(name, chain)
            let attributes = table + NFTablesMessages.string(3, chain)
                + NFTablesMessages.nested(4, NFTablesMessages.u32(1, hook) + NFTablesMessages.u32(2, UInt32(bitPattern: priority)))
                + NFTablesMessages.u32(5, 1)                                                 // policy NF_ACCEPT
                + NFTablesMessages.string(7, name == .nat ? "nat" : "filter")
            messages.append((NFTablesMessages.newChain, NFTablesMessages.create, netlinkFamily, attributes, "\(object) chain \(chain)"))
        }
        return messages
    }

    /// `NFTA_RULE_COMPAT`: the protocol, which compat matches such as icmp
    /// check as xtables would check the rule's own (iptables-nft sends it too).
    static func compat(_ rule: IPTablesRule) -> [UInt8] {
        guard let number = rule.ipProtocol else { return [] }
        return NFTablesMessages.nested(5, NFTablesMessages.u32(1, UInt32(number)) + NFTablesMessages.u32(2, 0))
    }

    /// The hook and priority iptables-nft gives a built-in chain
    /// (`NF_INET_*`, `NF_IP_PRI_*`).
    private static func hook(_ table: IPTable.Name, _ chain: String) -> (UInt32, Int32) {
        let hooks: [String: UInt32] = ["PREROUTING": 0, "INPUT": 1, "FORWARD": 2, "OUTPUT": 3, "POSTROUTING": 4]
        let priority: Int32 = switch (table, chain) {
        case (.raw, _): -300
        case (.nat, "PREROUTING"), (.nat, "OUTPUT"): -100
        case (.nat, _): 100
        default: 0
        }
        return (hooks[chain]!, priority)
    }
}
