/// A VM scope's share of the port dispatch. The renderer of a VM scope
/// knows only its own VMs, so the chains on their ports' paths are made
/// from what the kernel holds there, the scope's entries replaced by the
/// rendered ones (`InterfaceDispatch.merging`). Host scopes render the
/// whole tree and need none of this.
extension PortDispatch {
    static func merge(_ desired: inout IPTable, kernel: KernelTableState, scope: Scope) {
        guard case .vms(let selection) = scope else { return }
        for direction in InterfaceDispatch.Direction.allCases where desired.chains[direction.root] != nil {
            let rendered = desired.chains.filter { direction.owns($0.key) }
            let wanted = rendered.values.joined().compactMap(branch).filter { selection.jumpTargets.contains($0.target) }
            var held: [String: [InterfaceDispatch.Branch]] = [:]
            for (chain, rules) in kernel.chains where direction.owns(chain) {
                held[chain] = rules.compactMap { rule in
                    if case .known(let known) = rule { branch(known) } else { nil }
                }
            }
            let tree = InterfaceDispatch.merging(direction, kernel: held, wanted: entries(wanted),
                                                 replaced: selection.jumpTargets.contains)
            for chain in rendered.keys { desired.chains[chain] = nil }
            for (chain, branches) in tree.chains { desired.chains[chain] = branches.map { iptablesRule($0, direction) } }
        }
    }

    static func merge(_ desired: inout EbtablesTable, kernel: KernelEbtablesState, scope: Scope) {
        guard case .vms(let selection) = scope else { return }
        let owned = Set(selection.ebtablesChains)
        for direction in InterfaceDispatch.Direction.allCases where desired.chains[direction.root] != nil {
            let rendered = desired.chains.filter { direction.owns($0.key) }
            let wanted = rendered.values.joined().compactMap { rule -> InterfaceDispatch.Branch? in
                guard case .jump(let target) = rule.target, owned.contains(target),
                      let port = rule.inInterface ?? rule.outInterface else { return nil }
                return InterfaceDispatch.Branch(pattern: port, target: target)
            }
            var held: [String: [InterfaceDispatch.Branch]] = [:]
            for (chain, rules) in kernel.chains where direction.owns(chain) {
                held[chain] = rules.compactMap { rule in
                    let words = rule.split(separator: " ")
                    guard words.count == 4, words[0] == "-i" || words[0] == "-o", words[2] == "-j" else { return nil }
                    return InterfaceDispatch.Branch(pattern: String(words[1]), target: String(words[3]))
                }
            }
            let tree = InterfaceDispatch.merging(direction, kernel: held, wanted: entries(wanted), replaced: owned.contains)
            for chain in rendered.keys { desired.chains[chain] = nil }
            for (chain, branches) in tree.chains { desired.chains[chain] = branches.map { ebtablesRule($0, direction) } }
        }
    }

    private static func entries(_ branches: [InterfaceDispatch.Branch]) -> [InterfaceDispatch.Entry] {
        branches.map { InterfaceDispatch.Entry(interface: $0.pattern, target: $0.target) }
    }
}
