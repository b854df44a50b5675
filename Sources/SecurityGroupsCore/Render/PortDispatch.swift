/// The `notrack` layout's dispatch: the per-port jumps `classic` lists one
/// after the other (`BF-<bridge>-IN`/`-OUT`, ebtables PREROUTING and
/// POSTROUTING) become `InterfaceDispatch` trees, one per direction and
/// table, shared by all bridges (port names are unique on a host).
public enum PortDispatch {
    /// Moves the port jumps of every bridge's `-IN`/`-OUT` chain into the
    /// trees; each of those chains then holds one jump to its tree's root.
    /// In a VM scope only the chains on its ports' paths are kept.
    static func apply(to filter: inout IPTable, bridges: [Bridge], scope: Scope) {
        for (suffix, direction) in [("-IN", InterfaceDispatch.Direction.into), ("-OUT", .out)] {
            var entries: [InterfaceDispatch.Entry] = []
            for bridge in bridges {
                let chain = NetfilterNames.bridgeChain(bridge.name) + suffix
                for rule in filter.chains[chain] ?? [] {
                    guard case .jump(let target) = rule.target, let port = rule.physdevPort else { continue }
                    entries.append(.init(interface: port, target: target))
                }
                filter.chains[chain] = [IPTablesRule(target: .jump(direction.root))]
            }
            let tree = InterfaceDispatch(direction, entries: entries)
            for (name, branches) in tree.chains where scope.includesDispatchChain(name) {
                filter.chains[name] = branches.map { iptablesRule($0, direction) }
            }
        }
    }

    /// `-j sg-in` in PREROUTING; `-p ARP -j sg-out` in POSTROUTING.
    public static func rootJump(_ direction: InterfaceDispatch.Direction) -> EbtablesRule {
        EbtablesRule(etherType: direction == .out ? .arp : nil, target: .jump(direction.root))
    }

    static func iptablesRule(_ branch: InterfaceDispatch.Branch, _ direction: InterfaceDispatch.Direction) -> IPTablesRule {
        let physdev = direction == .into
            ? PhysdevMatch(inPort: branch.pattern, isBridged: true)
            : PhysdevMatch(outPort: branch.pattern, isBridged: true)
        return IPTablesRule(matches: [.physdev(physdev)], target: .jump(branch.target))
    }

    static func ebtablesRule(_ branch: InterfaceDispatch.Branch, _ direction: InterfaceDispatch.Direction) -> EbtablesRule {
        direction == .into
            ? EbtablesRule(inInterface: branch.pattern, target: .jump(branch.target))
            : EbtablesRule(outInterface: branch.pattern, target: .jump(branch.target))
    }

    /// The branch of a dispatch rule: its port pattern and jump target.
    static func branch(_ rule: IPTablesRule) -> InterfaceDispatch.Branch? {
        guard case .jump(let target) = rule.target, let port = rule.physdevPort else { return nil }
        return InterfaceDispatch.Branch(pattern: port, target: target)
    }

    static func branch(_ rule: EbtablesRule) -> InterfaceDispatch.Branch? {
        guard case .jump(let target) = rule.target, let port = rule.inInterface ?? rule.outInterface else { return nil }
        return InterfaceDispatch.Branch(pattern: port, target: target)
    }

    /// The same for ebtables: PREROUTING (`-i`) and POSTROUTING (`-o`).
    /// A VM's `-out` chain acts on ARP only, so only ARP enters the
    /// POSTROUTING tree: other frames to a VM skip it.
    static func apply(to table: inout EbtablesTable, scope: Scope) {
        for (chain, direction) in [("PREROUTING", InterfaceDispatch.Direction.into), ("POSTROUTING", .out)] {
            let entries = (table.builtinRules[chain] ?? []).compactMap(branch).map {
                InterfaceDispatch.Entry(interface: $0.pattern, target: $0.target)
            }
            table.builtinRules[chain] = [rootJump(direction)]
            let tree = InterfaceDispatch(direction, entries: entries)
            for (name, branches) in tree.chains where scope.includesDispatchChain(name) {
                table.chains[name] = branches.map { ebtablesRule($0, direction) }
            }
        }
    }
}

private extension IPTablesRule {
    /// The port of a `BF-<bridge>-IN`/`-OUT` jump.
    var physdevPort: String? {
        for case .physdev(let physdev) in matches {
            if let port = physdev.inPort ?? physdev.outPort { return port }
        }
        return nil
    }
}
