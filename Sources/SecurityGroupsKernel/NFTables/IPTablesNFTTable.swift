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
}
