public import SecurityGroupsCore

/// Questions about what the kernel holds for one VM, for the agent commands.
public enum KernelQuery {
    /// Whether a bridge chain already sends `vif` into the VM's default
    /// chain (IPv4): the script's test for "default rules are programmed".
    public static func hasDefaultRules(_ vm: VMName, vif: String) throws(NetfilterError) -> Bool {
        var codec = RuleCodec()
        let table = try IPTablesHandle(family: .ipv4, table: .filter).read(codec: &codec, scope: .vm(vm))
        let target = Target.jump(NetfilterNames(vm).defaultChain)
        return table.chains.contains { chain, rules in
            chain.hasPrefix("BF-") && chain.hasSuffix("-IN") && rules.contains { rule in
                guard case .known(let known) = rule, known.target == target else { return false }
                return known.matches.contains { if case .physdev(let p) = $0 { p.inPort == vif } else { false } }
            }
        }
    }

    /// The IPv4 addresses the VM's ARP chain (`<vm>-in-ips`) allows, by MAC,
    /// in the order the rules stand (newest first, as the script inserts).
    public static func arpAddresses(_ vm: VMName) throws(NetfilterError) -> [(mac: MACAddress, ip: IPv4Address)] {
        let rules = try EbtablesBackend.list(NetfilterNames(vm).ebtablesInIPs) ?? []
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
        try IPSetBackend.save(names: [NetfilterNames(vm).ipv6Set]).flatMap { $0.members.compactMap { IPv6Address($0) } }
    }
}
