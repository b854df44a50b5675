/// The per-bridge framework `add_fw_framework` sets up, the same for IPv4 and IPv6.
enum BridgeRules {
    /// The four FORWARD rules of one bridge, top to bottom.
    static func forwardRules(_ bridge: Bridge) -> [IPTablesRule] {
        let chain = NetfilterNames.bridgeChain(bridge.name)
        let bridged = Match.physdev(PhysdevMatch(isBridged: true))
        return [
            IPTablesRule(outInterface: bridge.name.rawValue, matches: [bridged], target: .jump(chain)),
            IPTablesRule(inInterface: bridge.name.rawValue, matches: [bridged], target: .jump(chain)),
            IPTablesRule(outInterface: bridge.name.rawValue, target: .drop),
            IPTablesRule(inInterface: bridge.name.rawValue, target: .drop),
        ]
    }

    /// `BF-<bridge>` with its rules, and the empty `-IN` and `-OUT` chains the
    /// VMs' jumps go into. With `notrack`, the open VMs' fast path follows
    /// the accept of tracked traffic (`Notrack.fastPath`).
    static func chains(_ bridge: Bridge, _ family: AddressFamily, notrack: Bool) -> [(String, [IPTablesRule])] {
        let chain = NetfilterNames.bridgeChain(bridge.name)
        var rules = [IPTablesRule(matches: [.relatedEstablished], target: .accept)]
        if notrack { rules += Notrack.fastPath(bridge, family) }
        rules += [
            IPTablesRule(matches: [.physdev(PhysdevMatch(isIn: true, isBridged: true))], target: .jump(chain + "-IN")),
            IPTablesRule(matches: [.physdev(PhysdevMatch(isOut: true, isBridged: true))], target: .jump(chain + "-OUT")),
        ]
        if let uplink = bridge.uplink {
            rules.append(IPTablesRule(matches: [PhysdevMatch.bridgedOut(uplink)], target: .accept))
        }
        return [(chain, rules), (chain + "-IN", []), (chain + "-OUT", [])]
    }
}

/// `default_network_rules_systemvm`: one chain that accepts everything.
enum SystemVMRules {
    static func add(_ vm: VirtualMachine, to filter: inout IPTable, ownChain: Bool) {
        let chain = NetfilterNames(vm.name).vmChain
        var rules: [IPTablesRule] = []
        for nic in vm.nics {
            let bridgeChain = NetfilterNames.bridgeChain(nic.bridge)
            filter.append(IPTablesRule(matches: [PhysdevMatch.bridgedOut(nic.vif)], target: .jump(chain)), to: bridgeChain + "-OUT")
            filter.append(IPTablesRule(matches: [PhysdevMatch.bridgedIn(nic.vif)], target: .jump(chain)), to: bridgeChain + "-IN")
            rules.append(IPTablesRule(matches: [PhysdevMatch.bridgedIn(nic.vif)], target: .return))
        }
        rules.append(IPTablesRule(target: .accept))
        if ownChain { filter.chains[chain] = rules }
    }
}
