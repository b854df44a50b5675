/// Turns a host's desired state into its complete ruleset. Pure: no I/O.
///
/// The order of everything follows what `security_group.py` does on the
/// same sequence of agent commands: bridges and VMs in the order they were
/// programmed, rules it inserts with `-I` reversed.
public enum Renderer {
    /// With a VM scope, the other VMs' own chains, sets and ebtables chains are
    /// left out; everything the host shares (bridge chains with every VM's
    /// jumps, FORWARD, NAT, raw, the `notrack` sets, ebtables jumps) is whole.
    public static func render(_ host: HostState, layout: Layout = .notrack, scope: Scope = .host) -> Ruleset {
        var ipv4 = IPTablesFamily()
        var ipv6 = IPTablesFamily()
        var ipsets: [IPSet] = []
        var ebtables = EbtablesTable()
        let chainCount = host.bridges.count * 3 + host.vms.count * 3
        ipv4.filter.chains.reserveCapacity(chainCount)
        ipv6.filter.chains.reserveCapacity(chainCount)
        ebtables.chains.reserveCapacity(host.vms.count * 6)

        let notrack = layout.exemptsOpenVMs && !host.bridges.isEmpty
        // Later bridges' FORWARD rules are inserted above earlier ones.
        var forward: [IPTablesRule] = []
        for bridge in host.bridges {
            forward.insert(contentsOf: BridgeRules.forwardRules(bridge), at: 0)
            for (name, rules) in BridgeRules.chains(bridge, .ipv4, notrack: notrack) { ipv4.filter.chains[name] = rules }
            for (name, rules) in BridgeRules.chains(bridge, .ipv6, notrack: notrack) { ipv6.filter.chains[name] = rules }
        }
        ipv4.filter.append(contentsOf: forward, to: "FORWARD")
        ipv6.filter.append(contentsOf: forward, to: "FORWARD")

        if notrack {
            ipsets += Notrack.sets(host)
            ipv4.filter.chains[Notrack.openSenderChain] = Notrack.openSenderRules(.ipv4)
            ipv6.filter.chains[Notrack.openSenderChain] = Notrack.openSenderRules(.ipv6)
        }

        for vm in host.vms {
            switch vm.name.kind {
            case .system:
                SystemVMRules.add(vm, to: &ipv4.filter, ownChain: scope.includes(vm.name))
            case .user:
                let guest = GuestRules(vm: vm, layout: layout)
                let own = scope.includes(vm.name)
                guest.addFilterRules(.ipv4, to: &ipv4.filter, ownChains: own)
                guest.addFilterRules(.ipv6, to: &ipv6.filter, ownChains: own)
                guest.addMetadataRedirect(to: &ipv4.nat)
                if own { ipsets += guest.addressSets + guest.peerSets }
                guest.addEbtablesRules(to: &ebtables, ownChains: own)
            }
        }

        if notrack {
            // `native` looks each port up in a map instead (NativeRuleset).
            if layout == .notrack {
                PortDispatch.apply(to: &ipv4.filter, bridges: host.bridges, scope: scope)
                PortDispatch.apply(to: &ipv6.filter, bridges: host.bridges, scope: scope)
                PortDispatch.apply(to: &ebtables, scope: scope)
            }
            ipv4.raw.append(contentsOf: Notrack.rawRules(.ipv4), to: "PREROUTING")
            ipv6.raw.append(contentsOf: Notrack.rawRules(.ipv6), to: "PREROUTING")
        }
        return Ruleset(ipv4: ipv4, ipv6: ipv6, ipsets: ipsets, ebtables: ebtables, scope: scope, layout: layout)
    }
}
