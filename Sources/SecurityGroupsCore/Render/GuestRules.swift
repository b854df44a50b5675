/// The iptables, ipset and ebtables state of one guest (`i-`) VM:
/// `default_network_rules` per NIC, `add_network_rules`, and
/// `post_default_network_rules`.
struct GuestRules {
    let vm: VirtualMachine
    let names: NetfilterNames
    let layout: Layout

    init(vm: VirtualMachine, layout: Layout) {
        self.vm = vm
        self.names = NetfilterNames(vm.name)
        self.layout = layout
    }

    /// In `classic` allow rules carry `--state NEW`; in `notrack` none does
    /// (an untracked packet is never NEW).
    private var statefulAllowRules: Bool { layout == .classic }

    /// The bridge chains' jumps into the VM, and with `ownChains` the VM's
    /// default, ingress and egress chains.
    func addFilterRules(_ family: AddressFamily, to filter: inout IPTable, ownChains: Bool = true) {
        var defaultRules: [IPTablesRule] = []
        for nic in vm.nics {
            let bridgeChain = NetfilterNames.bridgeChain(nic.bridge)
            filter.append(IPTablesRule(matches: [PhysdevMatch.bridgedOut(nic.vif)], target: .jump(names.defaultChain)), to: bridgeChain + "-OUT")
            filter.append(IPTablesRule(matches: [PhysdevMatch.bridgedIn(nic.vif)], target: .jump(names.defaultChain)), to: bridgeChain + "-IN")
            if ownChains { defaultRules += family == .ipv4 ? defaultRulesIPv4(nic) : defaultRulesIPv6(nic) }
        }
        guard ownChains else { return }
        if family == .ipv4 {
            // post_default_network_rules inserts at position 4, after the DHCP accepts.
            for nic in vm.nics {
                guard nic.metadata != nil, let ip = nic.ipv4 else { continue }
                let rule = IPTablesRule(source: IPNetwork(host: .v4(ip)), matches: [PhysdevMatch.bridgedIn(nic.vif)], target: .accept)
                defaultRules.insert(rule, at: min(3, defaultRules.count))
            }
        }
        filter.chains[names.defaultChain] = defaultRules

        let (ingress, egress) = securityGroupRules(family)
        filter.chains[names.vmChain] = ingress
        filter.chains[names.egressChain] = egress
    }

    /// The IPv4 part of `default_network_rules` for one NIC.
    private func defaultRulesIPv4(_ nic: NIC) -> [IPTablesRule] {
        let vif = nic.vif
        let udp = IPProtocolNumber.udp
        var rules = [
            IPTablesRule(matches: [.relatedEstablished], target: .accept),
            IPTablesRule(ipProtocol: udp, matches: [PhysdevMatch.bridgedIn(vif), .udp(sourcePort: 68, destinationPort: 67)], target: .accept),
            IPTablesRule(ipProtocol: udp, matches: [PhysdevMatch.bridgedOut(vif), .udp(sourcePort: 67, destinationPort: 68)], target: .accept),
            IPTablesRule(ipProtocol: udp, matches: [PhysdevMatch.bridgedIn(vif), .udp(sourcePort: 67)], target: .drop),
        ]
        if nic.ipv4 != nil {
            let set = names.ipv4Set
            rules += [
                IPTablesRule(matches: [PhysdevMatch.bridgedIn(vif), .setSource(set, inverted: true)], target: .drop),
                IPTablesRule(matches: [PhysdevMatch.bridgedOut(vif), .setDestination(set, inverted: true)], target: .drop),
                IPTablesRule(ipProtocol: udp, matches: [PhysdevMatch.bridgedIn(vif), .setSource(set), .udp(destinationPort: 53)], target: .return),
                IPTablesRule(ipProtocol: IPProtocolNumber.tcp, matches: [PhysdevMatch.bridgedIn(vif), .setSource(set), .tcp(destinationPort: 53)], target: .return),
                IPTablesRule(matches: [PhysdevMatch.bridgedIn(vif), .setSource(set)], target: .jump(names.egressChain)),
            ]
        }
        rules.append(IPTablesRule(matches: [PhysdevMatch.bridgedOut(vif)], target: .jump(names.vmChain)))
        return rules
    }

    /// The IPv6 part of `default_network_rules` for one NIC: neighbour
    /// discovery, router and DHCPv6 handling (RFC 4890), then anti-spoofing.
    private func defaultRulesIPv6(_ nic: NIC) -> [IPTablesRule] {
        let into = PhysdevMatch.bridgedIn(nic.vif)
        let out = PhysdevMatch.bridgedOut(nic.vif)
        let set = names.ipv6Set
        let icmp = IPProtocolNumber.icmpv6
        let udp = IPProtocolNumber.udp
        let hl255 = Match.hopLimitEquals(255)
        let linkLocal = IPNetwork(host: .v6(nic.mac!.linkLocalIPv6))
        let linkLocalNet = WellKnown.linkLocalNetwork
        var rules = [
            IPTablesRule(matches: [.relatedEstablished], target: .accept),
            IPTablesRule(source: linkLocalNet, destination: WellKnown.allNodes, ipProtocol: icmp, matches: [out, .icmp6(134), hl255], target: .accept),
            IPTablesRule(destination: WellKnown.allRouters, ipProtocol: icmp, matches: [into, .icmp6(133), hl255], target: .return),
            IPTablesRule(ipProtocol: icmp, matches: [into, .icmp6(134)], target: .drop),
            IPTablesRule(ipProtocol: icmp, matches: [into, .icmp6(135), hl255], target: .return),
            IPTablesRule(ipProtocol: icmp, matches: [out, .icmp6(135), hl255], target: .accept),
            IPTablesRule(ipProtocol: icmp, matches: [into, .icmp6(136), .setSource(set), hl255], target: .return),
            IPTablesRule(ipProtocol: icmp, matches: [out, .icmp6(136), hl255], target: .accept),
        ]
        // packet-too-big, destination-unreachable, time-exceeded, parameter-problem
        for type: UInt8 in [2, 1, 3, 4] {
            rules.append(IPTablesRule(ipProtocol: icmp, matches: [into, .icmp6(type), .setSource(set)], target: .return))
            rules.append(IPTablesRule(ipProtocol: icmp, matches: [out, .icmp6(type)], target: .accept))
        }
        rules += [
            IPTablesRule(destination: WellKnown.mldv2Routers, ipProtocol: icmp, matches: [into], target: .return),
            IPTablesRule(source: linkLocal, destination: WellKnown.dhcpv6Agents, ipProtocol: udp, matches: [into, .udp(sourcePort: 546)], target: .return),
            IPTablesRule(source: linkLocalNet, destination: linkLocal, ipProtocol: udp, matches: [out, .udp(destinationPort: 546)], target: .accept),
            IPTablesRule(destination: linkLocalNet, destinationInverted: true, ipProtocol: udp, matches: [into, .udp(sourcePort: 547)], target: .drop),
            IPTablesRule(ipProtocol: udp, matches: [into, .udp(destinationPort: 53), .setSource(set)], target: .return),
            IPTablesRule(ipProtocol: IPProtocolNumber.tcp, matches: [into, .tcp(destinationPort: 53), .setSource(set)], target: .return),
            IPTablesRule(matches: [into, .setSource(set, inverted: true)], target: .drop),
            IPTablesRule(matches: [into, .setSource(set)], target: .jump(names.egressChain)),
            IPTablesRule(matches: [out], target: .jump(names.vmChain)),
        ]
        return rules
    }

    /// The ingress (`i-A-V-VM`) and egress (`i-A-V-VM-eg`) chains of one family.
    ///
    /// The script inserts every rule and CIDR at the top, so the chains hold
    /// them in reverse. Before `add_network_rules` has run the ingress chain
    /// only drops and the egress chain is empty.
    private func securityGroupRules(_ family: AddressFamily) -> (ingress: [IPTablesRule], egress: [IPTablesRule]) {
        guard let rules = vm.rules else { return ([IPTablesRule(target: .drop)], []) }
        var ingress: [IPTablesRule] = []
        var egress: [IPTablesRule] = []
        for (rule, peers) in peerGroups(family) {
            let built: [IPTablesRule]
            switch peers {
            case .cidrs(let cidrs): built = cidrs.map { iptablesRule(rule, peer: .cidr($0), family: family) }
            case .set(let set): built = [iptablesRule(rule, peer: .set(set.name), family: family)]
            }
            for one in built {
                if rule.direction == .ingress { ingress.insert(one, at: 0) } else { egress.insert(one, at: 0) }
            }
        }
        ingress.append(IPTablesRule(target: .drop))
        // Egress is open until some egress rule names this family, even if
        // only with an unusable CIDR (the script leaves egress open then).
        let familyHasEgressRule = rules.contains { $0.direction == .egress && $0.names(family) }
        egress.append(IPTablesRule(target: familyHasEgressRule ? .drop : .return))
        return (ingress, egress)
    }

    /// Whom a rule allows: its CIDRs one rule each, or (`notrack`, two or
    /// more CIDRs, none of them "any": another group's members) one set.
    enum Peers {
        case cidrs([IPNetwork])
        case set(IPSet)
    }

    /// The rules with their peers in one family, in rule order; sets are
    /// numbered per direction in that order (`NetfilterNames.peerSet`).
    func peerGroups(_ family: AddressFamily) -> [(rule: SecurityGroupRule, peers: Peers)] {
        var numbers: [SecurityGroupRule.Direction: Int] = [:]
        return (vm.rules ?? []).map { rule in
            let cidrs = rule.cidrs(family)
            guard layout.exemptsOpenVMs, cidrs.count > 1, !cidrs.contains(where: \.isAny) else { return (rule, .cidrs(cidrs)) }
            let number = numbers[rule.direction, default: 0]
            numbers[rule.direction] = number + 1
            let name = names.peerSet(rule.direction, number, family)
            let set = IPSet(name: name, type: .hashNet, family: family, members: cidrs.uniqued().map(IPSet.Member.init))
            return (rule, .set(set))
        }
    }

    /// The peer sets of both families.
    var peerSets: [IPSet] {
        AddressFamily.allCases.flatMap { family in
            peerGroups(family).compactMap { if case .set(let set) = $0.peers { set } else { nil } }
        }
    }

    private enum Peer {
        case cidr(IPNetwork)
        case set(String)
    }

    private func iptablesRule(_ rule: SecurityGroupRule, peer: Peer, family: AddressFamily) -> IPTablesRule {
        var built = IPTablesRule(target: rule.direction == .ingress ? .accept : .return)
        var peerMatch: [Match] = []
        switch peer {
        case .cidr(let cidr):
            let network: IPNetwork? = cidr.isAny ? nil : cidr
            if rule.direction == .ingress { built.source = network } else { built.destination = network }
        case .set(let name):
            peerMatch = [rule.direction == .ingress ? .setSource(name) : .setDestination(name)]
        }
        let new: [Match] = statefulAllowRules ? [.state(.new)] : []
        switch rule.ipProtocol {
        case .all:
            built.matches = new
        case .tcp, .udp:
            let ports: ClosedRange<UInt16> = rule.startPort == 0 && rule.endPort == 0
                ? PortMatch.anyPort : UInt16(rule.startPort)...UInt16(rule.endPort)
            let isTCP = rule.ipProtocol == .tcp
            built.ipProtocol = isTCP ? IPProtocolNumber.tcp : IPProtocolNumber.udp
            let portMatch = PortMatch(destinationPorts: ports)
            built.matches = [isTCP ? .tcp(portMatch) : .udp(portMatch)] + new
        case .icmp:
            // Type -1 means any type; code -1 any code. The type is used as
            // is for IPv6: the management server sends ICMPv6 rules apart.
            let anyType = rule.startPort == -1
            let codes: ClosedRange<UInt8> = rule.endPort == -1 ? 0...255 : UInt8(rule.endPort)...UInt8(rule.endPort)
            if family == .ipv4 {
                built.ipProtocol = IPProtocolNumber.icmp
                built.matches = [anyType ? .icmp(type: 255, codes: 0...255) : .icmp(type: UInt8(rule.startPort), codes: codes)]
            } else {
                built.ipProtocol = IPProtocolNumber.icmpv6
                built.matches = anyType ? [] : [.icmp6(type: UInt8(rule.startPort), codes: codes)]
            }
        case .number(let number):
            built.ipProtocol = number == 0 ? nil : number
        }
        // The set last: the cheap protocol and port checks first.
        built.matches += peerMatch
        return built
    }

    /// The VM's address sets: IPv4 primary and secondary addresses; IPv6
    /// link-local, primary and secondary addresses.
    var addressSets: [IPSet] {
        var ipv4 = IPSet(name: names.ipv4Set, type: .hashIP, family: .ipv4)
        var ipv6 = IPSet(name: names.ipv6Set, type: .hashNet, family: .ipv6)
        for nic in vm.nics {
            ipv4.members += nic.ipv4Addresses.map { IPSet.Member(.v4($0)) }
            ipv6.members.append(IPSet.Member(.v6(nic.mac!.linkLocalIPv6)))
            ipv6.members += nic.ipv6Addresses.map { IPSet.Member(.v6($0)) }
        }
        ipv4.members = ipv4.members.uniqued()
        ipv6.members = ipv6.members.uniqued()
        return [ipv4, ipv6]
    }

    /// The metadata DNAT of `post_default_network_rules`.
    func addMetadataRedirect(to nat: inout IPTable) {
        for nic in vm.nics {
            guard let metadata = nic.metadata, let dhcpServer = metadata.dhcpServer else { continue }
            nat.append(Self.metadataRule(nic, dhcpServer: dhcpServer, target: .dnat(metadata.hostIP, port: 80)), to: "PREROUTING")
        }
    }

    /// HTTP from the NIC to the DHCP server's address, with the given target.
    static func metadataRule(_ nic: NIC, dhcpServer: IPv4Address, target: Target) -> IPTablesRule {
        IPTablesRule(destination: IPNetwork(host: .v4(dhcpServer)), ipProtocol: IPProtocolNumber.tcp,
                     matches: [.physdev(PhysdevMatch(inPort: nic.vif.rawValue)), .tcp(destinationPort: 80)],
                     target: target)
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
