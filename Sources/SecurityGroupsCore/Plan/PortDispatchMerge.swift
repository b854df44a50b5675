/// A VM scope's share of the port dispatch. The renderer of a VM scope
/// knows only its own VMs, so the chains on their ports' paths are made
/// from what the kernel holds there, the scope's entries replaced by the
/// rendered ones (`InterfaceDispatch.merging`). In `classic` the rendered
/// ones are none: a VM switched back to the script's jumps leaves the tree
/// to the others, and the last one takes the tree away. Host scopes render
/// the whole tree and need none of this.
extension PortDispatch {
    static func merge(_ desired: inout IPTable, kernel: KernelTableState, scope: Scope) {
        guard case .vms(let selection) = scope else { return }
        for direction in InterfaceDispatch.Direction.allCases {
            var held: [String: [InterfaceDispatch.Branch]] = [:]
            for (chain, rules) in kernel.chains where direction.owns(chain) {
                held[chain] = rules.compactMap { rule in
                    if case .known(let known) = rule { branch(known) } else { nil }
                }
            }
            let rendered = desired.chains.filter { direction.owns($0.key) }
            let wanted = rendered.values.joined().compactMap(branch).filter { selection.jumpTargets.contains($0.target) }
            guard let tree = merged(direction, held: held, rendered: !rendered.isEmpty, wanted: wanted,
                                    replaced: selection.jumpTargets.contains) else { continue }
            for chain in rendered.keys { desired.chains[chain] = nil }
            for (chain, branches) in tree.chains { desired.chains[chain] = branches.map { iptablesRule($0, direction) } }
            guard rendered.isEmpty else { continue }
            // classic: the bridges' chains keep their jump into the others' tree.
            let suffix = direction == .into ? "-IN" : "-OUT"
            let rootJump = IPTablesRule(target: .jump(direction.root))
            for chain in desired.chains.keys where chain.hasPrefix("BF-") && chain.hasSuffix(suffix) {
                if !desired.chains[chain]!.contains(rootJump) { desired.chains[chain]!.append(rootJump) }
            }
        }
    }

    static func merge(_ desired: inout EbtablesTable, kernel: KernelEbtablesState, scope: Scope) {
        guard case .vms(let selection) = scope else { return }
        let owned = Set(selection.ebtablesChains)
        for (builtin, direction) in [("PREROUTING", InterfaceDispatch.Direction.into), ("POSTROUTING", .out)] {
            var held: [String: [InterfaceDispatch.Branch]] = [:]
            for (chain, rules) in kernel.chains where direction.owns(chain) {
                held[chain] = rules.compactMap { rule in
                    EbtablesSaveFormat.rule(rule)?.portJump.map { InterfaceDispatch.Branch(pattern: $0.port, target: $0.chain) }
                }
            }
            let rendered = desired.chains.filter { direction.owns($0.key) }
            let wanted = rendered.values.joined().compactMap(branch).filter { owned.contains($0.target) }
            guard let tree = merged(direction, held: held, rendered: !rendered.isEmpty, wanted: wanted,
                                    replaced: owned.contains) else { continue }
            for chain in rendered.keys { desired.chains[chain] = nil }
            for (chain, branches) in tree.chains { desired.chains[chain] = branches.map { ebtablesRule($0, direction) } }
            if rendered.isEmpty, !(desired.builtinRules[builtin] ?? []).contains(rootJump(direction)) {
                desired.builtinRules[builtin, default: []].append(rootJump(direction))
            }
        }
    }

    /// The merged tree; nil when there is none to keep (nothing rendered,
    /// and no entry of another VM's left in the kernel's).
    private static func merged(_ direction: InterfaceDispatch.Direction, held: [String: [InterfaceDispatch.Branch]],
                               rendered: Bool, wanted: [InterfaceDispatch.Branch],
                               replaced: (String) -> Bool) -> InterfaceDispatch? {
        guard rendered || !held.isEmpty else { return nil }
        let tree = InterfaceDispatch.merging(direction, kernel: held, wanted: wanted.map { .init(interface: $0.pattern, target: $0.target) },
                                             replaced: replaced)
        guard rendered || tree.chains.contains(where: { !$0.branches.isEmpty }) else { return nil }
        return tree
    }
}
