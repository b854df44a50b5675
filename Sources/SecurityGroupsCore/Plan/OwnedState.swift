extension KernelTableState {
    /// The part of the table that is ours, as a table of known rules, and how
    /// many rules in our chains could not be decoded.
    public func owned() -> (table: IPTable, opaqueRules: Int) {
        var table = IPTable(name)
        var opaque = 0
        let bridgeChains = Set(chains.keys.filter { $0.hasPrefix("BF-") })
        for chain in name.builtinChains {
            for rule in chains[chain] ?? []
            where Ownership.ownsBuiltinRule(rule, chain: chain, table: name, bridgeChains: bridgeChains) {
                if case .known(let known) = rule { table.append(known, to: chain) }
            }
        }
        for (chain, rules) in chains where !name.isBuiltin(chain) && Ownership.ownsChain(chain) {
            table.ensureChain(chain)
            for rule in rules {
                if case .known(let known) = rule { table.append(known, to: chain) } else { opaque += 1 }
            }
        }
        return (table, opaque)
    }
}

extension KernelEbtablesState {
    /// Our chains and our jumps into them, in ebtables-save syntax.
    public func ownedText() -> String {
        let ours = chains.keys.filter { !EbtablesTable.builtinChains.contains($0) && Ownership.ownsEbtablesChain($0) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let jumps = EbtablesTable.builtinChains.flatMap { chain in
            (chains[chain] ?? []).filter { rule in ours.contains { rule == "-j \($0)" || rule.hasSuffix(" -j \($0)") } }.map { "-A \(chain) \($0)" }
        }
        if ours.isEmpty && jumps.isEmpty { return "" }
        var out = "*nat\n" + EbtablesTable.builtinChains.map { ":\($0) ACCEPT\n" }.joined()
        out += ours.map { ":\($0) \(EbtablesTable.policy(of: $0))\n" }.joined()
        out += jumps.map { $0 + "\n" }.joined()
        for chain in ours { out += (chains[chain] ?? []).map { "-A \(chain) \($0)\n" }.joined() }
        return out
    }
}
