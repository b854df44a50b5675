/// The ebtables anti-spoofing chains of a guest (`default_ebtables_rules`,
/// `ebtables_rules_vmip`, `post_default_network_rules`).
extension GuestRules {
    /// The PREROUTING/POSTROUTING jumps into the VM, and with `ownChains` its six chains.
    func addEbtablesRules(to table: inout EbtablesTable, ownChains: Bool = true) {
        let n = names
        for nic in vm.nics {
            table.builtinRules["PREROUTING", default: []].append(EbtablesRule(inInterface: nic.vif.rawValue, target: .jump(n.ebtablesIn)))
            table.builtinRules["POSTROUTING", default: []].append(EbtablesRule(outInterface: nic.vif.rawValue, target: .jump(n.ebtablesOut)))
        }
        guard ownChains else { return }
        var inChain: [EbtablesRule] = [
            EbtablesRule(target: .jump(n.ebtablesInSource)),
            EbtablesRule(etherType: .arp, target: .jump(n.ebtablesInIPs)),
            EbtablesRule(etherType: .arp, arpOperation: .request, target: .accept),
            EbtablesRule(etherType: .arp, arpOperation: .reply, target: .accept),
            EbtablesRule(etherType: .arp, target: .drop),
        ]
        var outChain: [EbtablesRule] = [
            EbtablesRule(etherType: .arp, arpOperation: .reply, target: .jump(n.ebtablesOutDestination)),
            EbtablesRule(etherType: .arp, target: .jump(n.ebtablesOutIPs)),
            EbtablesRule(etherType: .arp, arpOperation: .request, target: .accept),
            EbtablesRule(etherType: .arp, arpOperation: .reply, target: .accept),
            EbtablesRule(etherType: .arp, target: .drop),
        ]
        // post_default_network_rules: MAC-rewrite metadata HTTP at the top,
        // then drop ARP for addresses other than the NIC's, right after the
        // jump to the address chain (the script inserts at position 4, which
        // is that place once the rewrite is in) and second in the out chain.
        for nic in vm.nics {
            guard let metadata = nic.metadata, let ip = nic.ipv4 else { continue }
            if let dhcpServer = metadata.dhcpServer {
                inChain.insert(EbtablesRule(etherType: .ipv4, ipDestination: dhcpServer, ipTCPDestinationPort: 80,
                                            target: .destinationNAT(metadata.hostMAC)), at: 0)
            }
            let afterAddressJump = (inChain.firstIndex { $0.target == .jump(n.ebtablesInIPs) } ?? inChain.count - 1) + 1
            inChain.insert(EbtablesRule(etherType: .arp, arpIPSource: ip, arpIPSourceInverted: true, target: .drop),
                           at: afterAddressJump)
            outChain.insert(EbtablesRule(etherType: .arp, arpIPDestination: ip, arpIPDestinationInverted: true, target: .drop),
                            at: min(1, outChain.count))
        }
        table.chains[n.ebtablesIn] = inChain
        table.chains[n.ebtablesOut] = outChain

        // Every NIC and address is inserted at the top: newest first.
        let macs = vm.nics.map { $0.mac! }
        let addresses = vm.nics.flatMap { nic in nic.ipv4Addresses.map { (mac: nic.mac!, ip: $0) } }
        table.chains[n.ebtablesInSource] = macs.reversed().map { EbtablesRule(sourceMAC: $0, target: .return) }
            + [EbtablesRule(target: .drop)]
        table.chains[n.ebtablesInIPs] = addresses.reversed().map {
            EbtablesRule(etherType: .arp, sourceMAC: $0.mac, arpIPSource: $0.ip, arpMACSource: $0.mac, target: .return)
        } + [EbtablesRule(target: .drop)]
        table.chains[n.ebtablesOutDestination] = macs.reversed().map {
            EbtablesRule(etherType: .arp, arpOperation: .reply, arpMACDestination: $0, target: .return)
        } + [EbtablesRule(etherType: .arp, arpOperation: .reply, target: .drop)]
        table.chains[n.ebtablesOutIPs] = addresses.reversed().map {
            EbtablesRule(etherType: .arp, arpIPDestination: $0.ip, target: .return)
        } + [EbtablesRule(target: .drop)]
    }
}
