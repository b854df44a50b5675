/// One of our rules as nft statements, with the same meaning in a table of
/// the `native` layout as it has in iptables, ip6tables or ebtables.
///
/// Bridge ports are not visible to the `ip`/`ip6` families, which see the
/// bridge (br_netfilter) in `iifname`/`oifname`: the `bridge` table writes a
/// packet's in-port id into its mark and its out-port id into its priority
/// (`PortIDs`), and `-m physdev` becomes a test of those.
enum NativeRules {
    /// `keyedByPort`: the sets whose lookups on a port go to the shared
    /// sets of addresses by port (`NativeRuleset`).
    static func rule(_ rule: IPTablesRule, _ family: AddressFamily, ports: PortIDs, keyedByPort: Set<String> = []) -> [NativeStatement] {
        var statements: [NativeStatement] = []
        if let name = rule.inInterface { statements.append(interface(.inInterface, name)) }
        if let name = rule.outInterface { statements.append(interface(.outInterface, name)) }
        if let source = rule.source { statements.append(.address(.source, source, inverted: rule.sourceInverted)) }
        if let destination = rule.destination { statements.append(.address(.destination, destination, inverted: rule.destinationInverted)) }
        var protocolSaid = false
        var matches: [NativeStatement] = []
        for match in rule.matches {
            switch match {
            case .physdev(let physdev):
                if let port = physdev.inPort { matches.append(.carrier(.mark, ports.id(port), inverted: false)) }
                if let port = physdev.outPort { matches.append(.carrier(.priority, ports.id(port), inverted: false)) }
                if physdev.isIn, physdev.inPort == nil { matches.append(.carrier(.mark, 0, inverted: true)) }
                if physdev.isOut || physdev.isBridged, physdev.outPort == nil { matches.append(.carrier(.priority, 0, inverted: true)) }
            case .tcp(let portMatch), .udp(let portMatch):
                let number: UInt8 = if case .tcp = match { 6 } else { 17 }
                let before = matches.count
                if portMatch.sourcePorts != PortMatch.anyPort { matches.append(.ports(protocol: number, .source, portMatch.sourcePorts)) }
                if portMatch.destinationPorts != PortMatch.anyPort {
                    matches.append(.ports(protocol: number, .destination, portMatch.destinationPorts))
                }
                protocolSaid = protocolSaid || matches.count > before
            case .icmp(let type, let codes), .icmp6(let type, let codes):
                guard type != 255 else { continue }
                let icmpFamily: AddressFamily = if case .icmp = match { .ipv4 } else { .ipv6 }
                matches.append(.icmpType(icmpFamily, type))
                if codes != 0...255 { matches.append(.icmpCode(icmpFamily, codes)) }
                protocolSaid = true
            case .state(let states):
                matches.append(.connectionState(states))
            case .set(let set):
                let address = NativeKey.address(family, set.direction)
                if let port = set.portDirection {
                    matches.append(.lookup([address, port == .source ? .mark : .priority], set: PortIDs.setName(set.name, port), inverted: set.inverted))
                } else if keyedByPort.contains(set.name), let port = portLookup(rule) {
                    // A VM's own set, tested on one of its ports: one set for all VMs, by port and address.
                    matches.append(.lookup([port.direction == .source ? .mark : .priority, address],
                                           set: PortIDs.addressSetName(port.direction), inverted: set.inverted))
                } else {
                    matches.append(.lookup([address], set: set.name, inverted: set.inverted))
                }
            case .hopLimitEquals(let limit):
                matches.append(.hopLimit(limit))
            case .destinationIsLocal(let inverted):
                matches.append(.destinationIsLocal(inverted: inverted))
            }
        }
        if let number = rule.ipProtocol, !protocolSaid { statements.append(.transportProtocol(number)) }
        return statements + matches + target(rule.target)
    }

    static func rule(_ rule: EbtablesRule) -> [NativeStatement] {
        var statements: [NativeStatement] = []
        if let name = rule.inInterface { statements.append(interface(.inInterface, name)) }
        if let name = rule.outInterface { statements.append(interface(.outInterface, name)) }
        switch rule.etherType {
        case .arp: statements.append(.etherType(0x0806))
        case .ipv4: statements.append(.etherType(0x0800))
        case nil: break
        }
        if let mac = rule.sourceMAC { statements.append(.etherSource(mac)) }
        if let operation = rule.arpOperation { statements.append(.arpOperation(operation == .request ? 1 : 2)) }
        // In the order of their offsets in the ARP header, as nft lists them.
        if let mac = rule.arpMACSource { statements.append(.arpHardwareAddress(.source, mac)) }
        if let address = rule.arpIPSource { statements.append(.arpAddress(.source, address, inverted: rule.arpIPSourceInverted)) }
        if let mac = rule.arpMACDestination { statements.append(.arpHardwareAddress(.destination, mac)) }
        if let address = rule.arpIPDestination {
            statements.append(.arpAddress(.destination, address, inverted: rule.arpIPDestinationInverted))
        }
        if let address = rule.ipDestination { statements.append(.address(.destination, IPNetwork(host: .v4(address)), inverted: false)) }
        if let port = rule.ipTCPDestinationPort { statements += [.ipProtocol(6), .ports(protocol: 6, .destination, port...port)] }
        switch rule.target {
        case .accept: statements.append(.verdict(.accept))
        case .drop: statements.append(.verdict(.drop))
        case .return: statements.append(.verdict(.return))
        case .jump(let chain): statements.append(.verdict(.jump(chain)))
        case .destinationNAT(let mac): statements += [.setEtherDestination(mac), .verdict(.accept)]
        }
        return statements
    }

    /// The port a rule tests (`--physdev-in` first), by which its set
    /// lookups go to the shared sets of addresses by port.
    static func portLookup(_ rule: IPTablesRule) -> (port: String, direction: SetMatch.Direction)? {
        for case .physdev(let physdev) in rule.matches {
            if let port = physdev.inPort { return (port, .source) }
            if let port = physdev.outPort { return (port, .destination) }
        }
        return nil
    }

    static func target(_ target: Target) -> [NativeStatement] {
        switch target {
        case .accept: [.verdict(.accept)]
        case .drop: [.verdict(.drop)]
        case .return: [.verdict(.return)]
        case .jump(let chain): [.verdict(.jump(chain))]
        case .dnat(let address, let port): [.destinationNAT(address, port: port)]
        case .notrack: [.notrack]
        }
    }

    /// iptables' `vnet+` is nft's `"vnet*"`.
    static func interface(_ key: NativeKey, _ name: String) -> NativeStatement {
        .interface(key, name.hasSuffix("+") ? String(name.dropLast()) : name, wildcard: name.hasSuffix("+"))
    }
}

/// The number each bridge port is known by in the `ip` and `ip6` tables:
/// the `bridge` table writes the in-port's into the packet mark and the
/// out-port's into its priority (a TC class id, `major:minor` in hex).
public struct PortIDs: Equatable, Sendable {
    public private(set) var ids: [String: UInt32]

    /// Numbers the ports 1, 2, … in name order (0 is "no port of ours").
    public init<S: Sequence>(ports: S) where S.Element == String {
        ids = Dictionary(uniqueKeysWithValues: Set(ports).sorted().enumerated().map { ($1, UInt32($0 + 1)) })
    }

    /// Ports with the ids they have (in the kernel, or newly given).
    public init(ids: [String: UInt32]) { self.ids = ids }

    /// Never a port's: what a rule naming an unknown port compares with.
    public static let none: UInt32 = 0xffff_ffff

    func id(_ port: String) -> UInt32 { ids[port] ?? Self.none }

    /// Every VM's own addresses, keyed by its ports' ids: the in-port's
    /// (mark) or the out-port's (priority). One set for all VMs, not one
    /// per VM: nf_tables finds a set by walking its table's list of sets,
    /// so thousands of sets make each rule that names one slow to add.
    public static func addressSetName(_ port: SetMatch.Direction) -> String {
        port == .source ? "port-addresses-in" : "port-addresses-out"
    }

    /// An ipset of addresses on ports (`hash:net,iface`) is two nft sets:
    /// one keyed by the in-port (mark), one by the out-port (priority).
    static func setName(_ name: String, _ port: SetMatch.Direction) -> String {
        name + (port == .source ? "-in" : "-out")
    }
}
