import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    /// A VM the script programmed and we have no state for, read back from
    /// the kernel: its NICs from the bridge chains' jumps into its default
    /// chain (in programming order), their MACs from libvirt or else from its
    /// `-in-src` chain (newest NIC first), each NIC's IPv4 addresses from its
    /// ARP chain, its IPv6 addresses from its set, its rules from its chains.
    /// `nic`, when the command names one, is taken as given. Nil when the
    /// kernel holds no default rules of the VM.
    func adopted(_ name: VMName, id: UInt64?, nic: NIC?) throws -> VirtualMachine? {
        let jumps = try kernel.defaultJumps(name)
        guard !jumps.isEmpty, let chains = try kernel.securityGroupChains(name) else { return nil }
        if let nic, !jumps.contains(where: { $0.vif == nic.vif.rawValue }) { return nil }
        let libvirtMACs = Dictionary((try host.interfaces(of: name.rawValue) ?? []).compactMap { interface in
            interface.vif.flatMap { vif in interface.mac.flatMap(MACAddress.init).map { (vif, $0) } }
        }, uniquingKeysWith: { first, _ in first })
        let sourceMACs = Array(try kernel.sourceMACs(name).reversed())
        let arp = try kernel.arpAddresses(name)
        var nics: [NIC] = []
        for (index, jump) in jumps.enumerated() {
            if let nic, jump.vif == nic.vif.rawValue {
                nics.append(nic)
                continue
            }
            guard let mac = libvirtMACs[jump.vif] ?? (index < sourceMACs.count ? sourceMACs[index] : nil) else { continue }
            // Newest first in the chain: the primary address was inserted first, so it is last.
            let addresses = Array(arp.filter { $0.mac == mac }.map(\.ip).reversed())
            nics.append(NIC(vif: try InterfaceName(jump.vif, field: "vif"), bridge: try InterfaceName(jump.bridge, field: "brname"),
                            mac: mac, ipv4: addresses.first, secondaryAddresses: addresses.dropFirst().map(IPAddress.v4)))
        }
        guard !nics.isEmpty else { return nil }
        let redirects = try kernel.metadataRedirects(name, vifs: Set(nics.map(\.vif.rawValue)))
        for index in nics.indices where nics[index].metadata == nil {
            nics[index].metadata = redirects[nics[index].vif.rawValue]
        }
        // IPv6 addresses are one set for the whole VM: keep the unassigned ones on the first NIC.
        let linkLocal = Set(nics.compactMap { $0.mac?.linkLocalIPv6 })
        let known = Set(nics.flatMap(\.ipv6Addresses))
        let others = try kernel.ipv6SetMembers(name).filter { !linkLocal.contains($0) && !known.contains($0) }
        let first = nics.firstIndex { $0.vif == nic?.vif } ?? 0
        nics[first].secondaryAddresses += others.map(IPAddress.v6)
        // An empty egress chain means the VM's rules never arrived.
        let rules = chains.egress4.isEmpty ? nil : RuleRecovery.rules(
            ingress4: chains.ingress4, egress4: chains.egress4, ingress6: chains.ingress6, egress6: chains.egress6)
        if !chains.egress4.isEmpty, rules == nil {
            throw AgentError("\(name): its chains hold rules we cannot take over; program it with default_network_rules --isFirstNic")
        }
        logger.info("\(name): taken over from the kernel with \(nics.count) NIC(s)")
        return VirtualMachine(name: name, id: id, nics: nics, rules: rules)
    }
}
