/// One iptables or ip6tables rule, structured the way the kernel stores it:
/// the IP header part, then matches in order, then the target.
///
/// Matches keep the order `security_group.py` gives them on its command line,
/// which is the order the kernel keeps and iptables-save prints.
public struct IPTablesRule: Hashable, Sendable {
    public var source: IPNetwork?
    public var sourceInverted = false
    public var destination: IPNetwork?
    public var destinationInverted = false
    public var inInterface: String?
    public var outInterface: String?
    /// IP protocol number; nil matches every protocol.
    public var ipProtocol: UInt8?
    public var matches: [Match]
    public var target: Target

    public init(source: IPNetwork? = nil, sourceInverted: Bool = false, destination: IPNetwork? = nil,
                destinationInverted: Bool = false, inInterface: String? = nil, outInterface: String? = nil,
                ipProtocol: UInt8? = nil, matches: [Match] = [], target: Target) {
        self.source = source
        self.sourceInverted = sourceInverted
        self.destination = destination
        self.destinationInverted = destinationInverted
        self.inInterface = inInterface
        self.outInterface = outInterface
        self.ipProtocol = ipProtocol
        self.matches = matches
        self.target = target
    }

    /// The ipset names the rule refers to.
    public var referencedSets: [String] {
        matches.compactMap { if case .set(let set) = $0 { set.name } else { nil } }
    }
}

/// A match extension (`-m name ...`).
public enum Match: Hashable, Sendable {
    case physdev(PhysdevMatch)
    case tcp(PortMatch)
    case udp(PortMatch)
    /// `-m icmp --icmp-type`: type 255 with all codes means any type.
    case icmp(type: UInt8, codes: ClosedRange<UInt8>)
    case icmp6(type: UInt8, codes: ClosedRange<UInt8>)
    /// `-m state --state` (kernel: conntrack revision 3 with the state alias flag).
    case state(ConnectionStates)
    case set(SetMatch)
    /// `-m hl --hl-eq N`.
    case hopLimitEquals(UInt8)
    /// `-m addrtype [!] --dst-type LOCAL`.
    case destinationIsLocal(inverted: Bool)
}

/// `-m physdev`: the bridge ports a bridged packet enters or leaves by.
public struct PhysdevMatch: Hashable, Sendable {
    public var inPort: String?
    public var outPort: String?
    public var isIn = false
    public var isOut = false
    public var isBridged = false

    public init(inPort: String? = nil, outPort: String? = nil, isIn: Bool = false, isOut: Bool = false, isBridged: Bool = false) {
        self.inPort = inPort
        self.outPort = outPort
        self.isIn = isIn
        self.isOut = isOut
        self.isBridged = isBridged
    }
}

/// `-m tcp` / `-m udp` port ranges; the full range means "any".
public struct PortMatch: Hashable, Sendable {
    public static let anyPort: ClosedRange<UInt16> = 0...65535
    public var sourcePorts: ClosedRange<UInt16>
    public var destinationPorts: ClosedRange<UInt16>

    public init(sourcePorts: ClosedRange<UInt16> = anyPort, destinationPorts: ClosedRange<UInt16> = anyPort) {
        self.sourcePorts = sourcePorts
        self.destinationPorts = destinationPorts
    }
}

/// Connection tracking states of `-m state`, with the kernel's bit values
/// (XT_CONNTRACK_STATE_BIT).
public struct ConnectionStates: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let invalid = ConnectionStates(rawValue: 1 << 0)
    public static let established = ConnectionStates(rawValue: 1 << 1)
    public static let related = ConnectionStates(rawValue: 1 << 2)
    public static let new = ConnectionStates(rawValue: 1 << 3)
    /// XT_CONNTRACK_STATE_UNTRACKED.
    public static let untracked = ConnectionStates(rawValue: 1 << 8)
}

/// `-m set [!] --match-set NAME src|dst`.
public struct SetMatch: Hashable, Sendable {
    public enum Direction: String, Sendable { case source = "src", destination = "dst" }
    public var name: String
    public var direction: Direction
    /// The second dimension of a two-dimensional set (`hash:net,iface`):
    /// the port the packet came in by (`src`) or leaves by (`dst`).
    public var portDirection: Direction?
    public var inverted: Bool

    public init(_ name: String, _ direction: Direction, port portDirection: Direction? = nil, inverted: Bool = false) {
        self.name = name
        self.direction = direction
        self.portDirection = portDirection
        self.inverted = inverted
    }

    /// As iptables-save prints the flags: `src`, `dst,dst`.
    public var flagsText: String { direction.rawValue + (portDirection.map { "," + $0.rawValue } ?? "") }
}

/// What a matching packet does.
public enum Target: Hashable, Sendable {
    case accept
    case drop
    case `return`
    case jump(String)
    /// `-j DNAT --to-destination ADDRESS:PORT`.
    case dnat(IPv4Address, port: UInt16)
    /// `-j CT --notrack`.
    case notrack
}
