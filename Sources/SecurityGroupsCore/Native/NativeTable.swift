/// One table of the `native` layout as data: nft's text (`NativeText`) and
/// the netlink messages that load it are both made from this.
public struct NativeTable: Equatable, Sendable {
    public enum Family: String, Sendable, CaseIterable {
        case ip, ip6, bridge
    }

    public let family: Family
    public var sets: [NativeSet] = []
    public var chains: [NativeChain] = []

    public init(family: Family, sets: [NativeSet] = [], chains: [NativeChain] = []) {
        self.family = family
        self.sets = sets
        self.chains = chains
    }

    /// `chain` and every chain its rules jump to, in the order first reached.
    public func chains(reachableFrom chain: String) -> [String] {
        var reached = [chain]
        var index = 0
        while index < reached.count {
            for target in chains.first(where: { $0.name == reached[index] })?.jumpTargets ?? [] where !reached.contains(target) {
                reached.append(target)
            }
            index += 1
        }
        return reached
    }
}

/// A named set, or a map when it has `data`.
public struct NativeSet: Equatable, Sendable {
    public enum DataType: Equatable, Sendable {
        case value(NativeType)
        case verdict
    }

    public let name: String
    public let key: [NativeType]
    public let data: DataType?
    /// Elements may be address prefixes (`flags interval`).
    public let interval: Bool
    /// Overlapping prefixes are merged, not refused (`auto-merge`).
    public let autoMerge: Bool
    public var elements: [NativeElement]

    public init(name: String, key: [NativeType], data: DataType? = nil, interval: Bool = false, autoMerge: Bool = false,
                elements: [NativeElement] = []) {
        self.name = name
        self.key = key
        self.data = data
        self.interval = interval
        self.autoMerge = autoMerge
        self.elements = elements
    }
}

/// The types of set keys and map values, as nft names them.
public enum NativeType: String, Equatable, Sendable {
    case interfaceName = "ifname"
    case mark = "mark"
    /// `meta priority`: a TC class id, `major:minor` in hex.
    case classID = "classid"
    case ipv4Address = "ipv4_addr"
    case ipv6Address = "ipv6_addr"
}

/// One element: a value for each key field, and a map's value.
public struct NativeElement: Equatable, Sendable {
    public var key: [NativeValue]
    public var data: NativeValue?

    public init(_ key: [NativeValue], data: NativeValue? = nil) {
        self.key = key
        self.data = data
    }
}

public enum NativeValue: Hashable, Sendable {
    case interface(String)
    /// A mark or a class id.
    case number(UInt32)
    /// An address, or a prefix in an interval set.
    case network(IPNetwork)
    case jump(String)
}

public struct NativeChain: Equatable, Sendable {
    /// Where a base chain sees packets: nft's `type … hook … priority …`.
    public struct Hook: Equatable, Sendable {
        public enum Point: String, Sendable {
            case prerouting, input, forward, output, postrouting
        }

        public let type: String
        public let point: Point
        public let priority: Int32
    }

    public let name: String
    public let hook: Hook?
    public var rules: [[NativeStatement]]

    public init(name: String, hook: Hook? = nil, rules: [[NativeStatement]]) {
        self.name = name
        self.hook = hook
        self.rules = rules
    }

    /// The chains its rules jump to, in order.
    public var jumpTargets: [String] {
        rules.joined().compactMap { if case .verdict(.jump(let target)) = $0 { target } else { nil } }
    }
}

/// What a rule's statements load and compare: a packet's field.
public enum NativeKey: Hashable, Sendable {
    case inInterface, outInterface, mark, priority
    case address(AddressFamily, SetMatch.Direction)

    public var type: NativeType {
        switch self {
        case .inInterface, .outInterface: .interfaceName
        case .mark: .mark
        case .priority: .classID
        case .address(let family, _): family == .ipv4 ? .ipv4Address : .ipv6Address
        }
    }
}

/// One statement of a rule, in the order nft reads them.
public enum NativeStatement: Equatable, Sendable {
    /// `iifname "x"`, `oifname "vnet*"` (`wildcard`: the name is a prefix).
    case interface(NativeKey, String, wildcard: Bool)
    /// `ip saddr 10.0.0.0/8`, `ip6 daddr != …` (the family is the network's).
    case address(SetMatch.Direction, IPNetwork, inverted: Bool)
    /// `meta mark 0x2`, `meta priority != none` (`.mark` or `.priority`).
    case carrier(NativeKey, UInt32, inverted: Bool)
    /// `meta l4proto N`.
    case transportProtocol(UInt8)
    /// `tcp dport 22`, `udp sport 1-1024` (protocol 6 or 17).
    case ports(protocol: UInt8, SetMatch.Direction, ClosedRange<UInt16>)
    /// `icmp type 8` or `icmpv6 type 134`, and `… code 0`.
    case icmpType(AddressFamily, UInt8)
    case icmpCode(AddressFamily, ClosedRange<UInt8>)
    case connectionState(ConnectionStates)
    /// `KEY . KEY @set`, `!= @set`.
    case lookup([NativeKey], set: String, inverted: Bool)
    case hopLimit(UInt8)
    /// `fib daddr type [!=] local`.
    case destinationIsLocal(inverted: Bool)
    // Bridge family (ebtables' matches).
    case etherType(UInt16)
    case etherSource(MACAddress)
    case arpOperation(UInt16)
    case arpAddress(SetMatch.Direction, IPv4Address, inverted: Bool)
    case arpHardwareAddress(SetMatch.Direction, MACAddress)
    /// `ip protocol N` (after `ether type ip`).
    case ipProtocol(UInt8)
    case setEtherDestination(MACAddress)
    // Dispatch and carriers.
    /// `KEY vmap @map`.
    case verdictMap(NativeKey, map: String)
    /// `meta mark set iifname map @map`: `carrier` is `.mark` or `.priority`.
    case setCarrier(NativeKey, from: NativeKey, map: String)
    /// `meta priority set none`.
    case clearPriority
    // Verdicts and actions.
    case verdict(NativeVerdict)
    case destinationNAT(IPv4Address, port: UInt16)
    case notrack
}

public enum NativeVerdict: Equatable, Sendable {
    case accept, drop, `return`
    case jump(String)
}
