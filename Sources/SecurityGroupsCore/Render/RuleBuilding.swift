/// Small constructors that keep the renderer's rule lists readable.
extension PhysdevMatch {
    static func bridgedIn(_ port: InterfaceName) -> Match {
        .physdev(PhysdevMatch(inPort: port.rawValue, isBridged: true))
    }
    static func bridgedOut(_ port: InterfaceName) -> Match {
        .physdev(PhysdevMatch(outPort: port.rawValue, isBridged: true))
    }
}

enum IPProtocolNumber {
    static let icmp: UInt8 = 1
    static let tcp: UInt8 = 6
    static let udp: UInt8 = 17
    static let icmpv6: UInt8 = 58
}

extension Match {
    static func udp(sourcePort: UInt16? = nil, destinationPort: UInt16? = nil) -> Match {
        .udp(PortMatch(sourcePorts: sourcePort.map { $0...$0 } ?? PortMatch.anyPort,
                       destinationPorts: destinationPort.map { $0...$0 } ?? PortMatch.anyPort))
    }
    static func tcp(destinationPort: UInt16) -> Match {
        .tcp(PortMatch(destinationPorts: destinationPort...destinationPort))
    }
    static func icmp6(_ type: UInt8) -> Match { .icmp6(type: type, codes: 0...255) }
    static func setSource(_ name: String, inverted: Bool = false) -> Match {
        .set(SetMatch(name, .source, inverted: inverted))
    }
    static func setDestination(_ name: String, inverted: Bool = false) -> Match {
        .set(SetMatch(name, .destination, inverted: inverted))
    }
    static let relatedEstablished = Match.state([.related, .established])
}

/// IPv6 networks the default rules name, parsed once.
enum WellKnown {
    static let linkLocalNetwork = IPNetwork("fe80::/64")!
    static let allNodes = IPNetwork("ff02::1")!
    static let allRouters = IPNetwork("ff02::2")!
    static let mldv2Routers = IPNetwork("ff02::16")!
    static let dhcpv6Agents = IPNetwork("ff02::1:2")!
}
