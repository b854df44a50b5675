public import SecurityGroupsCore

/// Questions about what the script left in the kernel for one VM, for the
/// agent commands that take such a VM over: its objects by the script's names.
public enum KernelQuery {
    /// Whether a bridge chain already sends `vif` into the VM's default
    /// chain (IPv4): the script's test for "default rules are programmed".
    public static func hasDefaultRules(_ vm: VMName, vif: String) throws(NetfilterError) -> Bool {
        try defaultJumps(vm).contains { $0.vif == vif }
    }

    /// The VM's NICs as the bridge chains know them: `(bridge, vif)` of every
    /// IPv4 `BF-<bridge>-IN` jump into its default chain, in rule order
    /// (the order they were programmed in), bridges by name.
    public static func defaultJumps(_ vm: VMName) throws(NetfilterError) -> [(bridge: String, vif: String)] {
        var codec = RuleCodec()
        let table = try IPTablesHandle(family: .ipv4, table: .filter).read(codec: &codec, scope: .vm(vm))
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
    public static func ports(of vms: Set<VMName>) throws(NetfilterError) -> Set<String> {
        guard !vms.isEmpty else { return [] }
        var codec = RuleCodec()
        let table = try IPTablesHandle(family: .ipv4, table: .filter).read(codec: &codec, scope: .vms(vms, vifs: []))
        let chains = vms.flatMap { [NetfilterNames($0), NetfilterNames.script($0)] }.flatMap { [$0.defaultChain, $0.vmChain] }
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
    public static func sourceMACs(_ vm: VMName) throws(NetfilterError) -> [MACAddress] {
        (try EbtablesBackend.list(NetfilterNames.script(vm).ebtablesInSource) ?? []).compactMap { rule in
            let words = rule.split(separator: " ").map(String.init)
            guard let at = words.firstIndex(of: "-s"), at + 1 < words.count else { return nil }
            return MACAddress(words[at + 1])
        }
    }

    /// The IPv4 addresses the VM's ARP chain (`<vm>-in-ips`) allows, by MAC,
    /// in the order the rules stand (newest first, as the script inserts).
    public static func arpAddresses(_ vm: VMName) throws(NetfilterError) -> [(mac: MACAddress, ip: IPv4Address)] {
        let rules = try EbtablesBackend.list(NetfilterNames.script(vm).ebtablesInIPs) ?? []
        return rules.compactMap { rule in
            let words = rule.split(separator: " ").map(String.init)
            guard let macAt = words.firstIndex(of: "-s"), macAt + 1 < words.count, let mac = MACAddress(words[macAt + 1]),
                  let ipAt = words.firstIndex(of: "--arp-ip-src"), ipAt + 1 < words.count, let ip = IPv4Address(words[ipAt + 1])
            else { return nil }
            return (mac, ip)
        }
    }

    /// The members of the VM's IPv6 address set.
    public static func ipv6SetMembers(_ vm: VMName) throws(NetfilterError) -> [IPv6Address] {
        try IPSetBackend.save(names: [NetfilterNames.script(vm).ipv6Set]).flatMap { $0.members.compactMap { IPv6Address($0) } }
    }

    /// The VM's ingress and egress chains in both families, or nil when its
    /// IPv4 ingress chain does not exist.
    public static func securityGroupChains(_ vm: VMName) throws(NetfilterError)
        -> (ingress4: [KernelRule], egress4: [KernelRule], ingress6: [KernelRule], egress6: [KernelRule])? {
        let names = NetfilterNames.script(vm)
        var codec = RuleCodec()
        let v4 = try IPTablesHandle(family: .ipv4, table: .filter).read(codec: &codec, scope: .vm(vm))
        let v6 = try IPTablesHandle(family: .ipv6, table: .filter).read(codec: &codec, scope: .vm(vm))
        guard let ingress4 = v4.chains[names.vmChain] else { return nil }
        return (ingress4, v4.chains[names.egressChain] ?? [], v6.chains[names.vmChain] ?? [], v6.chains[names.egressChain] ?? [])
    }

    /// The metadata redirects `post_default_network_rules` left for the VM's
    /// vifs: the DNAT in nat PREROUTING and the MAC rewrite in its `-in` chain.
    public static func metadataRedirects(_ vm: VMName, vifs: Set<String>) throws(NetfilterError) -> [String: MetadataRedirect] {
        var codec = RuleCodec()
        let nat = try IPTablesHandle(family: .ipv4, table: .nat).read(codec: &codec, scope: .vm(vm, vifs: vifs))
        let hostMAC = (try EbtablesBackend.list(NetfilterNames.script(vm).ebtablesIn) ?? []).compactMap { rule -> MACAddress? in
            let words = rule.split(separator: " ").map(String.init)
            guard let at = words.firstIndex(of: "--to-dst"), at + 1 < words.count else { return nil }
            return MACAddress(words[at + 1])
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
}
