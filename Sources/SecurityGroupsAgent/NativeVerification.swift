import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    /// `verify_network_rules` in the `native` layout: the script's answers
    /// (exit 2 an address missing from its set, 3 the bridge's framework,
    /// 4 the port's dispatch to its default chain or that chain, 5 the
    /// bridge family's dispatch or the VM's chains there), asked of our
    /// tables by key and by name; a chain counts as there when it has as
    /// many rules as rendered. Nil when the NIC's share is all there.
    func nativeVerification(_ vm: VirtualMachine, _ nic: NIC, rendered: Ruleset) throws -> Outcome? {
        let names = NetfilterNames(vm.name)
        let vif = nic.vif.rawValue
        let bridgeChain = NetfilterNames.bridgeChain(nic.bridge)
        let target = vm.name.kind == .system ? names.vmChain : names.defaultChain
        let user = vm.name.kind == .user
        let exactSets = [names.ipv4Set, names.ipv6Set] + AddressFamily.allCases.flatMap { [NetfilterNames.notrackSet($0), NetfilterNames.trackedSet($0)] }
        var query = NativeQuery()
        for set in rendered.ipsets where exactSets.contains(set.name) {
            for member in set.members where member.prefixLength == nil && member.port == nil {
                query.members.append(.init(set.family == .ipv4 ? .ip : .ip6, set: set.name, address: member.address))
            }
        }
        // The rules each chain should have: any distinct port ids name the
        // shared chains as the kernel's do, and count the same rules.
        let native = try NativeRuleset(rendered, ports: PortIDs(ports: NativeRuleset.portNames(rendered)))
        // The bridge's chain, the VM's chains in both families (its map
        // target and the shared chains it jumps to), then its bridge-family chains.
        let ownChains: [NativeQuery.Chain] = (user ? [NativeTable.Family.ip, .ip6] : [.ip]).flatMap { family in
            (native.tables.first { $0.family == family }?.chains(reachableFrom: target) ?? [target]).map { .init(family, $0) }
        }
        query.chains = [.init(.ip, bridgeChain)] + ownChains + (user ? names.ebtablesChains.map { .init(.bridge, $0) } : [])
        query.mapKeys = [.init(.bridge, map: "in-ports", key: .interface(vif))]
            + (user ? [.init(.bridge, map: "PREROUTING-ports", key: .interface(vif)), .init(.bridge, map: "POSTROUTING-ports", key: .interface(vif))] : [])
        let answer = try host.native(query)
        func wanted(_ chain: NativeQuery.Chain) -> Int? {
            native.tables.first { $0.family == chain.table }?.chains.first { $0.name == chain.name }?.rules.count
        }
        if let index = answer.members.firstIndex(of: false) {
            let member = query.members[index]
            return Outcome(output: "vm ip\(member.table == .ip6 ? "v6" : "") \(member.address) is not found\n", status: 2)
        }
        if answer.chains[0] != wanted(query.chains[0]) { return Outcome(output: "Rule 'chain \(bridgeChain)' is not found\n", status: 3) }
        guard case .number(let id)? = answer.mapValues[0] else { return Outcome(output: "Cannot find rule 'in-ports: \"\(vif)\"'\n", status: 4) }
        let dispatch = try host.native(NativeQuery(mapKeys: ["-IN-ports", "-OUT-ports"].map { .init(.ip, map: bridgeChain + $0, key: .number(id)) }))
        for (index, suffix) in ["-IN-ports", "-OUT-ports"].enumerated() where dispatch.mapValues[index] != .jump(target) {
            return Outcome(output: "Cannot find rule '\(bridgeChain)\(suffix): \"\(vif)\" : jump \(target)'\n", status: 4)
        }
        if let index = (1...ownChains.count).first(where: { answer.chains[$0] != wanted(query.chains[$0]) }) {
            return Outcome(output: "Cannot find rule 'chain \(query.chains[index].name)'\n", status: 4)
        }
        guard user else { return nil }
        for (index, (map, chain)) in [("PREROUTING-ports", names.ebtablesIn), ("POSTROUTING-ports", names.ebtablesOut)].enumerated()
        where answer.mapValues[index + 1] != .jump(chain) {
            return Outcome(output: "Rule '\(map): \"\(vif)\" : jump \(chain)' is not found\n", status: 5)
        }
        if let index = query.chains.indices.dropFirst(1 + ownChains.count).first(where: { answer.chains[$0] != wanted(query.chains[$0]) }) {
            return Outcome(output: "Cannot find rule 'chain \(query.chains[index].name)'\n", status: 5)
        }
        return nil
    }

    /// `status` in the `native` layout: each running VM's NICs checked as
    /// `verify_network_rules` checks them, each bridge's framework looked
    /// up, and which addresses are in the notrack sets.
    func nativeStatus(_ desired: DesiredHost) throws -> (vmsInSync: Set<VMName>, untracked: Set<String>, bridgesInSync: Bool) {
        var inSync: Set<VMName> = []
        for vm in desired.host.vms {
            var host = HostState(bridges: [], vms: [])
            try place(vm, in: &host)
            let rendered = Renderer.render(host, layout: .native, scope: .vm(vm.name, vifs: Set(vm.nics.map(\.vif.rawValue))))
            if try vm.nics.allSatisfy({ try nativeVerification(vm, $0, rendered: rendered) == nil }) { inSync.insert(vm.name) }
        }
        var query = NativeQuery(chains: desired.host.bridges.map { .init(.ip, NetfilterNames.bridgeChain($0.name)) })
        for vm in desired.recorded {
            for family in AddressFamily.allCases {
                for address in vm.nics.flatMap({ $0.addresses(family) }) {
                    query.members.append(.init(family == .ipv4 ? .ip : .ip6, set: NetfilterNames.notrackSet(family), address: address))
                }
            }
        }
        let answer = try host.native(query)
        let untracked = Set(zip(query.members, answer.members).filter(\.1).map { $0.0.address.description })
        return (inSync, untracked, !answer.chains.contains(nil))
    }
}
