import SecurityGroupsCore
import SecurityGroupsKernel

/// Questions about what the kernel holds for some VMs, asked through the
/// host backend: for the commands that take a VM the script programmed
/// over (its objects by the script's names), and for the interfaces a VM
/// scope must cover when nothing recorded them.
struct KernelQuery {
    let host: any HostBackend
    let layout: Layout

    /// Whether a bridge chain already sends `vif` into the VM's default
    /// chain (IPv4): the script's test for "default rules are programmed".
    func hasDefaultRules(_ vm: VMName, vif: String) throws(NetfilterError) -> Bool {
        try defaultJumps(vm).contains { $0.vif == vif }
    }

    /// The VM's NICs as the bridge chains know them: `(bridge, vif)` of every
    /// IPv4 `BF-<bridge>-IN` jump into its default chain, in rule order
    /// (the order they were programmed in), bridges by name.
    func defaultJumps(_ vm: VMName) throws(NetfilterError) -> [(bridge: String, vif: String)] {
        let table = try host.table(.filter, .ipv4, scope: .vm(vm))
        let target = Target.jump(NetfilterNames.script(vm).defaultChain)
        var jumps: [(bridge: String, vif: String)] = []
        for chain in table.chains.keys.sorted() where chain.hasPrefix("BF-") && chain.hasSuffix("-IN") {
            let bridge = String(chain.dropFirst(3).dropLast(3))
            for case .known(let rule) in table.chains[chain] ?? [] where rule.target == target {
                for case .physdev(let physdev) in rule.matches {
                    if let vif = physdev.inPort { jumps.append((bridge, vif)) }
                }
            }
        }
        return jumps
    }

    /// The ports the VMs' own chains name (physdev in or out), ours and the
    /// script's: the interfaces a VM had when nothing recorded them, so a
    /// VM scope finds its ports' dispatch entries.
    func ports(of vms: Set<VMName>) throws(NetfilterError) -> Set<String> {
        if layout == .native, !vms.isEmpty {
            // Our bridge table sends each guest port into the guest's first chain.
            return try host.nativePorts(entering: Set(vms.flatMap { [NetfilterNames($0).ebtablesIn, NetfilterNames.script($0).ebtablesIn] }))
        }
        // A guest has chains only while it has its address set (both are made
        // sets first and removed sets last, by us and by the script): asking
        // for a set by name is cheap, reading the table is not (a fifth of a
        // second at 5,000 VMs), and nearly every guest asked about is new.
        let guests = vms.filter { $0.kind == .user }
        let sets = guests.flatMap { [NetfilterNames($0).ipv4Set, NetfilterNames.script($0).ipv4Set] }
        let present = Set(try host.sets(named: Array(Set(sets))).map(\.name))
        let programmed = vms.filter { vm in
            vm.kind != .user || present.contains(NetfilterNames(vm).ipv4Set) || present.contains(NetfilterNames.script(vm).ipv4Set)
        }
        guard !programmed.isEmpty else { return [] }
        let table = try host.table(.filter, .ipv4, scope: .vms(programmed, vifs: []))
        let chains = programmed.flatMap { [NetfilterNames($0), NetfilterNames.script($0)] }.flatMap { [$0.defaultChain, $0.vmChain] }
        var ports: Set<String> = []
        for chain in chains {
            for case .known(let rule) in table.chains[chain] ?? [] {
                for case .physdev(let physdev) in rule.matches {
                    if let port = physdev.inPort ?? physdev.outPort { ports.insert(port) }
                }
            }
        }
        return ports
    }

    /// The MACs of the VM's `-in-src` chain, in rule order (newest NIC first).
    func sourceMACs(_ vm: VMName) throws(NetfilterError) -> [MACAddress] {
        try rules(of: NetfilterNames.script(vm).ebtablesInSource).compactMap(\.sourceMAC)
    }

    /// The IPv4 addresses the VM's ARP chain (`<vm>-in-ips`) allows, by MAC,
    /// in the order the rules stand (newest first, as the script inserts).
    func arpAddresses(_ vm: VMName) throws(NetfilterError) -> [(mac: MACAddress, ip: IPv4Address)] {
        try rules(of: NetfilterNames.script(vm).ebtablesInIPs).compactMap { rule in
            guard let mac = rule.sourceMAC, let ip = rule.arpIPSource, !rule.arpIPSourceInverted else { return nil }
            return (mac, ip)
        }
    }

    /// The members of the VM's IPv6 address set.
    func ipv6SetMembers(_ vm: VMName) throws(NetfilterError) -> [IPv6Address] {
        try host.sets(named: [NetfilterNames.script(vm).ipv6Set]).flatMap { $0.members.compactMap { IPv6Address($0) } }
    }

    /// The VM's ingress and egress chains in both families, or nil when its
    /// IPv4 ingress chain does not exist.
    func securityGroupChains(_ vm: VMName) throws(NetfilterError)
        -> (ingress4: [KernelRule], egress4: [KernelRule], ingress6: [KernelRule], egress6: [KernelRule])? {
        let names = NetfilterNames.script(vm)
        let v4 = try host.table(.filter, .ipv4, scope: .vm(vm))
        let v6 = try host.table(.filter, .ipv6, scope: .vm(vm))
        guard let ingress4 = v4.chains[names.vmChain] else { return nil }
        return (ingress4, v4.chains[names.egressChain] ?? [], v6.chains[names.vmChain] ?? [], v6.chains[names.egressChain] ?? [])
    }

    /// The metadata redirects `post_default_network_rules` left for the VM's
    /// vifs: the DNAT in nat PREROUTING and the MAC rewrite in its `-in` chain.
    func metadataRedirects(_ vm: VMName, vifs: Set<String>) throws(NetfilterError) -> [String: MetadataRedirect] {
        let nat = try host.table(.nat, .ipv4, scope: .vm(vm, vifs: vifs))
        let hostMAC = try rules(of: NetfilterNames.script(vm).ebtablesIn).lazy.compactMap { rule -> MACAddress? in
            if case .destinationNAT(let mac) = rule.target { mac } else { nil }
        }.first
        guard let hostMAC else { return [:] }
        var redirects: [String: MetadataRedirect] = [:]
        for case .known(let rule) in nat.chains["PREROUTING"] ?? [] {
            guard case .dnat(let hostIP, port: 80) = rule.target, case .v4(let server)? = rule.destination?.address,
                  case .physdev(let physdev)? = rule.matches.first, let vif = physdev.inPort, vifs.contains(vif) else { continue }
            redirects[vif] = MetadataRedirect(dhcpServer: server, hostIP: hostIP, hostMAC: hostMAC)
        }
        return redirects
    }

    /// An ebtables chain's rules we can read (none when it does not exist).
    private func rules(of chain: String) throws(NetfilterError) -> [EbtablesRule] {
        (try host.ebtablesChain(chain) ?? []).compactMap { EbtablesSaveFormat.rule($0) }
    }
}
