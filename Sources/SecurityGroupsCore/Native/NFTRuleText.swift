/// One of our rules in nft's language, with the same meaning in a table of
/// the `native` layout as it has in iptables, ip6tables or ebtables.
///
/// Bridge ports are not visible to the `ip`/`ip6` families, which see the
/// bridge (br_netfilter) in `iifname`/`oifname`: the `bridge` table writes a
/// packet's in-port id into its mark and its out-port id into its priority
/// (`PortIDs`), and `-m physdev` becomes a test of those.
enum NFTRuleText {
    /// `keyedByPort`: the sets whose lookups on a port go to the shared
    /// sets of addresses by port (`NativeRuleset`).
    static func rule(_ rule: IPTablesRule, _ family: AddressFamily, ports: PortIDs, keyedByPort: Set<String> = []) -> String {
        let ip = family == .ipv4 ? "ip" : "ip6"
        var words: [String] = []
        if let name = rule.inInterface { words.append("iifname \(interfaceName(name))") }
        if let name = rule.outInterface { words.append("oifname \(interfaceName(name))") }
        if let source = rule.source { words.append("\(ip) saddr \(rule.sourceInverted ? "!= " : "")\(source)") }
        if let destination = rule.destination {
            words.append("\(ip) daddr \(rule.destinationInverted ? "!= " : "")\(destination)")
        }
        var protocolSaid = false
        var matchWords: [String] = []
        for match in rule.matches {
            switch match {
            case .physdev(let physdev):
                if let port = physdev.inPort { matchWords.append("meta mark \(ports.mark(port))") }
                if let port = physdev.outPort { matchWords.append("meta priority \(ports.priority(port))") }
                if physdev.isIn, physdev.inPort == nil { matchWords.append("meta mark != 0") }
                if physdev.isOut || physdev.isBridged, physdev.outPort == nil { matchWords.append("meta priority != none") }
            case .tcp(let ports), .udp(let ports):
                let name = if case .tcp = match { "tcp" } else { "udp" }
                let before = matchWords.count
                if ports.sourcePorts != PortMatch.anyPort { matchWords.append("\(name) sport \(range(ports.sourcePorts))") }
                if ports.destinationPorts != PortMatch.anyPort { matchWords.append("\(name) dport \(range(ports.destinationPorts))") }
                protocolSaid = protocolSaid || matchWords.count > before
            case .icmp(let type, let codes):
                guard type != 255 else { continue }
                matchWords.append("icmp type \(type)")
                if codes != 0...255 { matchWords.append("icmp code \(range(codes))") }
                protocolSaid = true
            case .icmp6(let type, let codes):
                guard type != 255 else { continue }
                matchWords.append("icmpv6 type \(type)")
                if codes != 0...255 { matchWords.append("icmpv6 code \(range(codes))") }
                protocolSaid = true
            case .state(let states):
                matchWords.append("ct state \(stateNames(states))")
            case .set(let set):
                let address = "\(ip) \(set.direction == .source ? "saddr" : "daddr")"
                let not = set.inverted ? "!= " : ""
                if let port = set.portDirection {
                    let carrier = port == .source ? "meta mark" : "meta priority"
                    matchWords.append("\(address) . \(carrier) \(not)@\(PortIDs.setName(set.name, port))")
                } else if keyedByPort.contains(set.name), let port = portLookup(rule) {
                    // A VM's own set, tested on one of its ports: one set for all VMs, by port and address.
                    let carrier = port.direction == .source ? "meta mark" : "meta priority"
                    matchWords.append("\(carrier) . \(address) \(not)@\(PortIDs.addressSetName(port.direction))")
                } else {
                    matchWords.append("\(address) \(not)@\(set.name)")
                }
            case .hopLimitEquals(let limit):
                matchWords.append("ip6 hoplimit \(limit)")
            case .destinationIsLocal(let inverted):
                matchWords.append("fib daddr type \(inverted ? "!= " : "")local")
            }
        }
        if let number = rule.ipProtocol, !protocolSaid { words.append("meta l4proto \(number)") }
        return (words + matchWords + [verdict(rule.target)]).joined(separator: " ")
    }

    static func rule(_ rule: EbtablesRule) -> String {
        var words: [String] = []
        if let name = rule.inInterface { words.append("iifname \(interfaceName(name))") }
        if let name = rule.outInterface { words.append("oifname \(interfaceName(name))") }
        switch rule.etherType {
        case .arp: words.append("ether type arp")
        case .ipv4: words.append("ether type ip")
        case nil: break
        }
        if let mac = rule.sourceMAC { words.append("ether saddr \(mac)") }
        if let operation = rule.arpOperation { words.append("arp operation \(operation == .request ? "request" : "reply")") }
        if let address = rule.arpIPSource { words.append("arp saddr ip \(rule.arpIPSourceInverted ? "!= " : "")\(address)") }
        if let address = rule.arpIPDestination {
            words.append("arp daddr ip \(rule.arpIPDestinationInverted ? "!= " : "")\(address)")
        }
        if let mac = rule.arpMACSource { words.append("arp saddr ether \(mac)") }
        if let mac = rule.arpMACDestination { words.append("arp daddr ether \(mac)") }
        if let address = rule.ipDestination { words.append("ip daddr \(address)") }
        if let port = rule.ipTCPDestinationPort { words.append("ip protocol tcp tcp dport \(port)") }
        switch rule.target {
        case .accept: words.append("accept")
        case .drop: words.append("drop")
        case .return: words.append("return")
        case .jump(let chain): words.append("jump \(chain)")
        case .destinationNAT(let mac): words.append("ether daddr set \(mac) accept")
        }
        return words.joined(separator: " ")
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

    static func verdict(_ target: Target) -> String {
        switch target {
        case .accept: "accept"
        case .drop: "drop"
        case .return: "return"
        case .jump(let chain): "jump \(chain)"
        case .dnat(let address, let port): "dnat to \(address):\(port)"
        case .notrack: "notrack"
        }
    }

    /// iptables' `vnet+` is nft's `"vnet*"`.
    static func interfaceName(_ name: String) -> String {
        "\"" + (name.hasSuffix("+") ? name.dropLast() + "*" : name) + "\""
    }

    private static func range<T: BinaryInteger>(_ range: ClosedRange<T>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    }

    private static func stateNames(_ states: ConnectionStates) -> String {
        let names: [(ConnectionStates, String)] = [
            (.invalid, "invalid"), (.established, "established"), (.related, "related"), (.new, "new"), (.untracked, "untracked"),
        ]
        return names.filter { states.contains($0.0) }.map(\.1).joined(separator: ",")
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

    /// Never a port's: what a rule naming an unknown port compares with.
    static let none: UInt32 = 0xffff_ffff

    func id(_ port: String) -> UInt32 { ids[port] ?? Self.none }
    func mark(_ port: String) -> String { Self.markText(id(port)) }
    func priority(_ port: String) -> String { Self.priorityText(id(port)) }

    static func markText(_ id: UInt32) -> String { "0x" + String(id, radix: 16) }
    static func priorityText(_ id: UInt32) -> String { String(id >> 16, radix: 16) + ":" + String(id & 0xffff, radix: 16) }

    /// Every VM's own addresses, keyed by its ports' ids: the in-port's
    /// (mark) or the out-port's (priority). One set for all VMs, not one
    /// per VM: nf_tables finds a set by walking its table's list of sets,
    /// so thousands of sets make each rule that names one slow to add.
    static func addressSetName(_ port: SetMatch.Direction) -> String {
        port == .source ? "port-addresses-in" : "port-addresses-out"
    }

    /// An ipset of addresses on ports (`hash:net,iface`) is two nft sets:
    /// one keyed by the in-port (mark), one by the out-port (priority).
    static func setName(_ name: String, _ port: SetMatch.Direction) -> String {
        name + (port == .source ? "-in" : "-out")
    }
}
