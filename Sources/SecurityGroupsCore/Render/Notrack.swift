/// The additions of the `notrack` layout (`shared/docs/notrack-layout.md`):
/// which VMs are untracked, the four sets, and the raw-table rules.
enum Notrack {
    /// A guest is open in a family when ingress allows all protocols from the
    /// family's any-CIDR and egress is open too (no egress rule for the
    /// family, or one allowing all protocols to its any-CIDR). A guest whose
    /// rules have not arrived is closed.
    static func isOpen(_ vm: VirtualMachine, _ family: AddressFamily) -> Bool {
        guard vm.name.kind == .user, let rules = vm.rules else { return false }
        func allowsAll(_ rule: SecurityGroupRule) -> Bool {
            rule.ipProtocol == .all && rule.cidrs(family).contains(where: \.isAny)
        }
        let ingressOpen = rules.contains { $0.direction == .ingress && allowsAll($0) }
        let egress = rules.filter { $0.direction == .egress }
        let egressOpen = !egress.contains { !$0.cidrs(family).isEmpty } || egress.contains(where: allowsAll)
        return ingressOpen && egressOpen
    }

    /// `cs_notrack`, `cs_tracked`, `cs_notrack6`, `cs_tracked6` with every
    /// guest address of the family in exactly one of the two.
    static func sets(_ host: HostState) -> [IPSet] {
        AddressFamily.allCases.flatMap { family -> [IPSet] in
            var open = IPSet(name: NetfilterNames.notrackSet(family), type: .hashIP, family: family)
            var tracked = IPSet(name: NetfilterNames.trackedSet(family), type: .hashIP, family: family)
            for vm in host.vms where vm.name.kind == .user {
                let vmAddresses = vm.nics.flatMap { addresses(of: $0, family) }
                if isOpen(vm, family) {
                    open.members += vmAddresses
                } else {
                    tracked.members += vmAddresses
                }
            }
            open.members = open.members.uniqued()
            tracked.members = tracked.members.uniqued()
            return [open, tracked]
        }
    }

    /// Every address of one family a NIC may use; for IPv6 also its link-local one.
    static func addresses(of nic: NIC, _ family: AddressFamily) -> [IPAddress] {
        switch family {
        case .ipv4:
            return nic.ipv4Addresses.map(IPAddress.v4)
        case .ipv6:
            return (nic.mac.map { [$0.linkLocalIPv6] } ?? []).map(IPAddress.v6) + nic.ipv6Addresses.map(IPAddress.v6)
        }
    }

    /// raw PREROUTING: metadata HTTP stays tracked (NAT needs it), then the
    /// two NOTRACK rules, each sparing flows to or from tracked guests and,
    /// for outbound flows, to the host itself.
    static func rawRules(_ family: AddressFamily, host: HostState) -> [IPTablesRule] {
        var rules: [IPTablesRule] = []
        if family == .ipv4 {
            for vm in host.vms where vm.name.kind == .user {
                for nic in vm.nics {
                    guard let dhcpServer = nic.metadata?.dhcpServer else { continue }
                    rules.append(GuestRules.metadataRule(nic, dhcpServer: dhcpServer, target: .return))
                }
            }
        }
        let open = NetfilterNames.notrackSet(family)
        let tracked = NetfilterNames.trackedSet(family)
        rules.append(IPTablesRule(matches: [.setDestination(open), .setSource(tracked, inverted: true)], target: .notrack))
        rules.append(IPTablesRule(matches: [.setSource(open), .setDestination(tracked, inverted: true),
                                            .destinationIsLocal(inverted: true)], target: .notrack))
        return rules
    }
}
