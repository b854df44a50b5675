public import SecurityGroupsCore

/// An iptables table as iptables-nft keeps it in nf_tables (`ip filter`,
/// `ip6 nat`, …), read over netlink as a scope reads the legacy table:
/// built-in chains and the scope's chains with their rules, the other
/// chains only named. The first piece of the nf_tables backend: what the
/// script leaves on an nf_tables host, read as our rules.
public enum IPTablesNFTTable {
    public static func read(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState {
        let netlinkFamily = family == .ipv4 ? NFTablesChains.ipv4 : NFTablesChains.ipv6
        let chains = try NFTablesChains.list(family: netlinkFamily).filter { $0.table == name.rawValue }.map(\.name)
        var state = KernelTableState(name: name, chains: [:])
        for chain in chains {
            if name.isBuiltin(chain) || scope.readsChain(chain) { state.chains[chain] = [] } else { state.otherChains.insert(chain) }
        }
        var codec = RuleCodec()
        for rule in try NFTablesRules.list(family: netlinkFamily, table: name.rawValue) where state.chains[rule.chain] != nil {
            // Ours only when written back it gives the same expressions: what
            // was not read is then certain to be absent.
            let decoded = IPTablesNFTRules.rule(rule.expressions, family: family, sets: &codec).flatMap { decoded in
                (try? IPTablesNFTRules.expressions(decoded, family: family, sets: &codec)) == rule.expressions ? decoded : nil
            }
            let target: String? = if case .jump(let chain)? = decoded?.target { chain } else { nil }
            let kept = decoded.flatMap { scope.decodesRule(in: rule.chain, target: target) ? KernelRule.known($0) : nil } ?? .opaque
            state.chains[rule.chain]!.append(kept)
        }
        return state
    }

    /// Writes `tables` (both families) into nf_tables as iptables-nft would
    /// create them on a host that has none of them yet, in one transaction:
    /// the tables, their built-in chains with iptables-nft's hooks and
    /// priorities, our chains, every rule. For a fresh host (and, until
    /// the edits of a plan are written too, for tests).
    static func create(_ tables: [AddressFamily: IPTablesFamily]) throws(NetfilterError) {
        var codec = RuleCodec()
        var messages: [(type: UInt16, flags: UInt16, family: UInt8, attributes: [UInt8], object: String)] = []
        let create: UInt16 = 0x400, append: UInt16 = 0x800                         // NLM_F_CREATE, NLM_F_APPEND
        for (family, desired) in tables.sorted(by: { $0.key == .ipv4 && $1.key == .ipv6 }) {
            let netlinkFamily = family == .ipv4 ? NFTablesChains.ipv4 : NFTablesChains.ipv6
            let tool = family == .ipv4 ? "iptables" : "ip6tables"
            for table in desired.tables {
                let name = NFTablesMessages.string(1, table.name.rawValue)
                messages.append((10 << 8 | 0, create, netlinkFamily, name, "\(tool) \(table.name.rawValue)"))     // NFT_MSG_NEWTABLE
                for chain in table.name.builtinChains {
                    let (hook, priority) = Self.hook(table.name, chain)
                    let attributes = name + NFTablesMessages.string(3, chain)
                        + NFTablesMessages.nested(4, NFTablesMessages.u32(1, hook) + NFTablesMessages.u32(2, UInt32(bitPattern: priority)))
                        + NFTablesMessages.u32(5, 1)                                                           // policy NF_ACCEPT
                        + NFTablesMessages.string(7, table.name == .nat ? "nat" : "filter")
                    messages.append((10 << 8 | 3, create, netlinkFamily, attributes, "\(tool) \(table.name.rawValue) chain \(chain)"))  // NFT_MSG_NEWCHAIN
                }
                for chain in table.chains.keys.sorted() {
                    messages.append((10 << 8 | 3, create, netlinkFamily, name + NFTablesMessages.string(3, chain),
                                     "\(tool) \(table.name.rawValue) chain \(chain)"))
                }
                for (chain, rules) in table.builtinRules.sorted(by: { $0.key < $1.key }) + table.chains.sorted(by: { $0.key < $1.key }) {
                    for rule in rules {
                        guard let expressions = try IPTablesNFTRules.expressions(rule, family: family, sets: &codec) else {
                            throw NetfilterError(operation: "encode rule", object: IPTablesSaveFormat.line(rule, chain: chain),
                                                 reason: "not expressible in nf_tables")
                        }
                        messages.append((10 << 8 | 6, create | append, netlinkFamily,                          // NFT_MSG_NEWRULE
                                         name + NFTablesMessages.string(2, chain) + NFTablesMessages.expressions(expressions)
                                            + compat(rule),
                                         "\(tool) \(table.name.rawValue) '\(IPTablesSaveFormat.line(rule, chain: chain))'"))
                    }
                }
            }
        }
        try NetfilterNetlink(subject: "nf_tables").transact(messages)
    }

    /// `NFTA_RULE_COMPAT`: the protocol, which compat matches such as icmp
    /// check as xtables would check the rule's own (iptables-nft sends it too).
    private static func compat(_ rule: IPTablesRule) -> [UInt8] {
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
