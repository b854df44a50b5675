import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    /// `verify_network_rules`: whether the kernel holds what the renderer
    /// gives for the NIC the arguments describe (in the configured layout,
    /// with the VM's recorded rules, metadata and other NICs when it has a
    /// record), answered like the script: the first missing piece on
    /// stdout, exit 2 (addresses in its sets), 3 (its bridge's framework),
    /// 4 (the jumps to its default chain, then that chain), 5 (ebtables
    /// jumps, then its ebtables chains). A port is reached by the script's
    /// jump or down the port dispatch tree. Reads only the VM's scope.
    func verify(_ arguments: AgentArguments) throws -> Outcome {
        guard let nameText = arguments.vmName, let ipText = arguments.vmIP, let macText = arguments.vmMAC else {
            return Outcome(output: "vm_name, vm_ip and vm_mac must be specifed\n", status: 1)
        }
        let name = try VMName(nameText)
        let mac = try AgentArgument.mac(macText)
        let interface = arguments.bridge == nil || arguments.vif == nil
            ? try host.interfaces(of: name.rawValue)?.first { $0.mac == mac.description } : nil
        guard let bridge = arguments.bridge ?? interface?.bridge else { return Outcome(output: "Cannot find bridge\n", status: 1) }
        guard let vif = arguments.vif ?? interface?.vif else { return Outcome(output: "Cannot find vif\n", status: 1) }
        var nic = NIC(vif: try InterfaceName(vif, field: "vif"), bridge: try InterfaceName(bridge, field: "brname"), mac: mac,
                      ipv4: try AgentArgument.ipv4(ipText),
                      ipv6: try arguments.vmIP6.map { (text) throws(InputError) in try AgentArgument.ipv6(text) },
                      secondaryAddresses: try arguments.secondaryIPs.map { (text) throws(InputError) in try AgentArgument.secondaryIPs(text) } ?? [])

        var vm = store.load(name).host.vms.first ?? VirtualMachine(name: name, nics: [])
        if let index = vm.nics.firstIndex(where: { $0.mac == mac }) {
            nic.metadata = vm.nics[index].metadata
            vm.nics[index] = nic
        } else {
            vm.nics.append(nic)
        }
        var desired = HostState(bridges: [], vms: [])
        try place(vm, in: &desired)
        let scope = Scope.vm(name, vifs: Set(vm.nics.map(\.vif.rawValue)))
        let rendered = Renderer.render(desired, layout: layout, scope: scope)
        if layout == .native { return try nativeVerification(vm, nic, rendered: rendered) ?? Outcome() }
        let check = VerifiedNIC(nic: nic, names: NetfilterNames(name), rendered: rendered,
                                bridgeChain: NetfilterNames.bridgeChain(nic.bridge))

        let kernelSets = try host.sets(named: rendered.ipsets.map(\.name))
        for set in rendered.ipsets {
            let present = Set(kernelSets.first { $0.name == set.name }?.members ?? [])
            if let missing = set.members.first(where: { !present.contains($0.description) }) {
                return Outcome(output: "vm ip\(set.family == .ipv6 ? "v6" : "") \(missing) is not found\n", status: 2)
            }
        }
        let filter = try host.table(.filter, .ipv4, scope: scope)
        if let missing = check.missingFramework(in: filter) {
            return Outcome(output: "Rule '\(missing)' is not found\n", status: 3)
        }
        if let missing = check.missingDefaultRule(in: filter) {
            return Outcome(output: "Cannot find rule '\(missing)'\n", status: 4)
        }
        var ebtables: [String: [String]] = [:]
        let dispatch = InterfaceDispatch.Direction.allCases.flatMap { InterfaceDispatch.pathChains(of: nic.vif.rawValue, $0) }
        for chain in ["PREROUTING", "POSTROUTING"] + check.ebtablesChains + dispatch {
            ebtables[chain] = try host.ebtablesChain(chain)
        }
        if let missing = check.missingEbtablesJump(in: ebtables) {
            return Outcome(output: "Rule '\(missing)' is not found\n", status: 5)
        }
        if let missing = check.missingEbtablesRule(in: ebtables) {
            return Outcome(output: "Cannot find rule '\(missing)'\n", status: 5)
        }
        return Outcome()
    }
}

/// What `verify_network_rules` compares: one NIC's share of a ruleset
/// rendered for its VM, against the kernel, each answer the line missing.
private struct VerifiedNIC {
    let nic: NIC
    let names: NetfilterNames
    let rendered: Ruleset
    let bridgeChain: String

    var ebtablesChains: [String] {
        [names.ebtablesIn, names.ebtablesInSource, names.ebtablesInIPs, names.ebtablesOut, names.ebtablesOutDestination, names.ebtablesOutIPs]
    }

    /// The bridge's FORWARD rules and its `BF-` chain.
    func missingFramework(in kernel: KernelTableState) -> String? {
        let forward = (rendered.ipv4.filter.builtinRules["FORWARD"] ?? []).filter { rule in
            rule.inInterface == nic.bridge.rawValue || rule.outInterface == nic.bridge.rawValue
        }
        return firstMissing(forward, in: kernel.chains["FORWARD"] ?? [], chain: "FORWARD")
            ?? firstMissing(rendered.ipv4.filter.chains[bridgeChain] ?? [], in: kernel.chains[bridgeChain] ?? [], chain: bridgeChain)
    }

    /// The jumps from `BF-<bridge>-IN`/`-OUT` into the default chain, then that chain.
    func missingDefaultRule(in kernel: KernelTableState) -> String? {
        for (suffix, direction) in [("-IN", InterfaceDispatch.Direction.into), ("-OUT", .out)] {
            func jump(_ pattern: String, _ target: String) -> IPTablesRule {
                let physdev = direction == .into ? PhysdevMatch(inPort: pattern, isBridged: true) : PhysdevMatch(outPort: pattern, isBridged: true)
                return IPTablesRule(matches: [.physdev(physdev)], target: .jump(target))
            }
            let reached = reaches(names.defaultChain, from: bridgeChain + suffix, direction, jump: jump,
                                  roots: [IPTablesRule(target: .jump(direction.root))]) { chain, rule in
                kernel.chains[chain]?.contains(.known(rule)) == true
            }
            if !reached { return IPTablesSaveFormat.line(jump(nic.vif.rawValue, names.defaultChain), chain: bridgeChain + suffix) }
        }
        return firstMissing(rendered.ipv4.filter.chains[names.defaultChain] ?? [], in: kernel.chains[names.defaultChain] ?? [],
                            chain: names.defaultChain)
    }

    /// The jumps from PREROUTING and POSTROUTING into the VM's chains.
    func missingEbtablesJump(in kernel: [String: [String]]) -> String? {
        for (builtin, direction, target) in [("PREROUTING", InterfaceDispatch.Direction.into, names.ebtablesIn),
                                             ("POSTROUTING", .out, names.ebtablesOut)] {
            func jump(_ pattern: String, _ target: String) -> EbtablesRule {
                direction == .into ? EbtablesRule(inInterface: pattern, target: .jump(target))
                    : EbtablesRule(outInterface: pattern, target: .jump(target))
            }
            let roots = [PortDispatch.rootJump(direction), EbtablesRule(target: .jump(direction.root))]
            let reached = reaches(target, from: builtin, direction, jump: jump, roots: roots) { chain, rule in
                kernel[chain]?.contains(EbtablesSaveFormat.body(rule)) == true
            }
            if !reached { return EbtablesSaveFormat.line(jump(nic.vif.rawValue, target), chain: builtin) }
        }
        return nil
    }

    /// The VM's ebtables chains, in the script's order.
    func missingEbtablesRule(in kernel: [String: [String]]) -> String? {
        for chain in ebtablesChains {
            let wanted = (rendered.ebtables.chains[chain] ?? []).map(EbtablesSaveFormat.body)
            if let missing = firstMissing(wanted, in: kernel[chain] ?? []) { return "-A \(chain) \(missing)" }
        }
        return nil
    }

    /// Whether the kernel sends the NIC's packets from `chain` into
    /// `target`: by the script's one jump there, or down the port dispatch
    /// tree that `chain` enters by one of `roots`.
    private func reaches<Rule>(_ target: String, from chain: String, _ direction: InterfaceDispatch.Direction,
                               jump: (String, String) -> Rule, roots: [Rule], holds: (String, Rule) -> Bool) -> Bool {
        let port = nic.vif.rawValue
        if holds(chain, jump(port, target)) { return true }
        guard roots.contains(where: { holds(chain, $0) }) else { return false }
        var current = direction.root, depth = 0
        while !holds(current, jump(port, target)) {
            let deeper = (depth + 1..<port.count).reversed().first { length in
                holds(current, jump(port.prefix(length) + "+", direction.chain(port.prefix(length))))
            }
            guard let deeper else { return false }
            current = direction.chain(port.prefix(deeper))
            depth = deeper
        }
        return true
    }

    /// The first rendered rule not found in the kernel's chain after the one before it.
    private func firstMissing(_ wanted: [IPTablesRule], in kernel: [KernelRule], chain: String) -> String? {
        firstMissing(wanted.map(KernelRule.known), in: kernel).map { rule in
            if case .known(let known) = rule { IPTablesSaveFormat.line(known, chain: chain) } else { "" }
        }
    }

    private func firstMissing<Element: Equatable>(_ wanted: [Element], in kernel: [Element]) -> Element? {
        var next = 0
        for element in kernel where next < wanted.count && element == wanted[next] { next += 1 }
        return next < wanted.count ? wanted[next] : nil
    }
}
