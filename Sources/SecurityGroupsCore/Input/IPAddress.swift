/// The two address families netfilter keeps apart.
public enum AddressFamily: String, Sendable, Hashable, CaseIterable {
    case ipv4
    case ipv6
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family; nil when the text is neither.
    public init?(_ text: String) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}

/// An address with a prefix length, as in `10.0.0.0/8` or `::/0`.
///
/// The address is kept with its host bits cleared, as the kernel keeps it.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public private(set) var address: IPAddress
    public private(set) var prefixLength: Int

    public init(_ address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        switch address {
        case .v4(let v4):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~0 << (32 - prefixLength)
            self.address = .v4(IPv4Address(v4.value & mask))
        case .v6(let v6):
            func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~0 << (64 - bits) }
            self.address = .v6(IPv6Address(high: v6.high & mask(prefixLength), low: v6.low & mask(prefixLength - 64)))
        }
    }

    /// A single host: /32 or /128.
    public init(host: IPAddress) {
        self.init(host, prefixLength: host.family == .ipv4 ? 32 : 128)
    }

    /// Parses `address[/prefix]`; without a prefix the network is one host.
    public init?(_ text: String) {
        let pieces = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(pieces[0])) else { return nil }
        let maximum = address.family == .ipv4 ? 32 : 128
        var length = maximum
        if pieces.count == 2 {
            let digits = pieces[1]
            guard (1...3).contains(digits.count), digits.allSatisfy(\.isASCIIDigit),
                  digits.count == 1 || digits.first != "0",
                  let parsed = Int(digits), parsed <= maximum else { return nil }
            length = parsed
        }
        self.init(address, prefixLength: length)
    }

    public var family: AddressFamily { address.family }

    /// True for `0.0.0.0/0` and `::/0`.
    public var isAny: Bool { prefixLength == 0 }

    /// `address/prefix`, the way iptables-save prints it.
    public var description: String { "\(address)/\(prefixLength)" }
}
