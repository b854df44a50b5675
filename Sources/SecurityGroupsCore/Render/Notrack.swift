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
    /// guest address of the family in exactly one of the two; then
    /// `cs_notrack_ports` and `cs_notrack_ports6`: the open guests'
    /// addresses each with its port, for the fast path.
    static func sets(_ host: HostState) -> [IPSet] {
        let pairs = AddressFamily.allCases.map { family -> [IPSet] in
            var open = IPSet(name: NetfilterNames.notrackSet(family), type: .hashIP, family: family)
            var tracked = IPSet(name: NetfilterNames.trackedSet(family), type: .hashIP, family: family)
            var ports = IPSet(name: NetfilterNames.notrackPortSet(family), type: .hashNetIface, family: family)
            for vm in host.vms where vm.name.kind == .user {
                let isOpen = isOpen(vm, family)
                for nic in vm.nics {
                    let nicAddresses = addresses(of: nic, family)
                    if isOpen {
                        open.members += nicAddresses.map { IPSet.Member($0) }
                        ports.members += nicAddresses.map { IPSet.Member($0, port: nic.vif.rawValue) }
                    } else {
                        tracked.members += nicAddresses.map { IPSet.Member($0) }
                    }
                }
            }
            open.members = open.members.uniqued()
            tracked.members = tracked.members.uniqued()
            ports.members = ports.members.uniqued()
            return [open, tracked, ports]
        }
        return pairs.flatMap { $0.prefix(2) } + pairs.map { $0[2] } + [metadataSet(host)]
    }

    /// `cs_metadata`: the guest NICs' DHCP server addresses. HTTP to one of
    /// them stays tracked from any port: the safe side, as in `classic`;
    /// nearly always every NIC of a network has the redirect. A VM scope
    /// only adds to it (others may share the address); a host run trims it.
    private static func metadataSet(_ host: HostState) -> IPSet {
        var set = IPSet(name: NetfilterNames.metadataSet, type: .hashIP, family: .ipv4)
        for vm in host.vms where vm.name.kind == .user {
            for nic in vm.nics {
                guard let dhcpServer = nic.metadata?.dhcpServer else { continue }
                set.members.append(IPSet.Member(.v4(dhcpServer)))
            }
        }
        set.members = set.members.uniqued()
        return set
    }

    /// The chain that accepts, for the fast path, what an open guest sends
    /// from its own addresses: everything its default chain would let
    /// through to an open egress, except what that chain stops or decides
    /// otherwise (a DHCP server's replies; IPv6 router advertisements and a
    /// DHCPv6 server's replies), which returns to the full path.
    static let openSenderChain = "sg-open-sender"

    static func openSenderRules(_ family: AddressFamily) -> [IPTablesRule] {
        let udp = IPProtocolNumber.udp
        switch family {
        case .ipv4:
            return [IPTablesRule(ipProtocol: udp, matches: [.udp(sourcePort: 67)], target: .return),
                    IPTablesRule(target: .accept)]
        case .ipv6:
            return [IPTablesRule(ipProtocol: IPProtocolNumber.icmpv6, matches: [.icmp6(134)], target: .return),
                    IPTablesRule(ipProtocol: udp, matches: [.udp(sourcePort: 547)], target: .return),
                    IPTablesRule(target: .accept)]
        }
    }

    /// The open guests' fast path in `BF-<bridge>`, after the accept of
    /// tracked traffic, so that their untracked packets are accepted as
    /// early and do not walk the port dispatch. Each rule accepts a subset
    /// of what the full path accepts (`shared/docs` §3 is unchanged):
    /// - from the uplink to an open guest's address on its own port: the
    ///   guest's default chain checks only that address, then its ingress
    ///   chain accepts everything;
    /// - from an open guest's address on its own port to the uplink, or to
    ///   an open guest's address on its port: the sender's checks
    ///   (`openSenderChain`), and the receiver's as above.
    static func fastPath(_ bridge: Bridge, _ family: AddressFamily) -> [IPTablesRule] {
        let ports = NetfilterNames.notrackPortSet(family)
        let fromOpen = Match.set(SetMatch(ports, .source, port: .source))
        let toOpen = Match.set(SetMatch(ports, .destination, port: .destination))
        // Untracked first: a tracked packet skips the set lookups for a flag test.
        let untracked = Match.state(.untracked)
        var rules: [IPTablesRule] = []
        if let uplink = bridge.uplink {
            rules.append(IPTablesRule(matches: [untracked, PhysdevMatch.bridgedIn(uplink), toOpen], target: .accept))
            rules.append(IPTablesRule(matches: [untracked, PhysdevMatch.bridgedOut(uplink), fromOpen], target: .jump(openSenderChain)))
        }
        rules.append(IPTablesRule(matches: [untracked, fromOpen, toOpen], target: .jump(openSenderChain)))
        return rules
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

    /// raw PREROUTING: metadata HTTP stays tracked (NAT needs it): one rule
    /// and `cs_metadata` (the DHCP servers the metadata DNAT rewrites), not
    /// a rule per port every packet would walk; then the two NOTRACK rules,
    /// each sparing flows to or from tracked guests and, for outbound flows,
    /// to the host itself.
    static func rawRules(_ family: AddressFamily) -> [IPTablesRule] {
        var rules: [IPTablesRule] = []
        if family == .ipv4 {
            let metadata = Match.setDestination(NetfilterNames.metadataSet)
            rules.append(IPTablesRule(ipProtocol: IPProtocolNumber.tcp, matches: [.tcp(destinationPort: 80), metadata], target: .return))
        }
        let open = NetfilterNames.notrackSet(family)
        let tracked = NetfilterNames.trackedSet(family)
        rules.append(IPTablesRule(matches: [.setDestination(open), .setSource(tracked, inverted: true)], target: .notrack))
        rules.append(IPTablesRule(matches: [.setSource(open), .setDestination(tracked, inverted: true),
                                            .destinationIsLocal(inverted: true)], target: .notrack))
        return rules
    }
}
