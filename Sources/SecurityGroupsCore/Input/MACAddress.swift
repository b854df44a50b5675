/// A MAC address: six octets, printed lower-case and zero-padded
/// (`02:00:00:00:00:07`), as ebtables-nft and libvirt print it.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// The 48 bits in the low end; kept inline so a MAC costs no allocation.
    public var value: UInt64

    public init(octets: [UInt8]) {
        precondition(octets.count == 6)
        value = octets.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var octets: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: value >> (UInt64(5 - $0) * 8)) }
    }

    /// Parses `xx:xx:xx:xx:xx:xx` with two hex digits per octet.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard part.count == 2, part.allSatisfy(\.isASCIIHexDigit),
                  let octet = UInt8(part, radix: 16) else { return nil }
            octets.append(octet)
        }
        self.init(octets: octets)
    }

    public var description: String {
        octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// The EUI-64 link-local address the guest derives from this MAC
    /// (`fe80::` + MAC with the universal/local bit flipped and `ff:fe` inserted).
    public var linkLocalIPv6: IPv6Address {
        IPv6Address(high: 0xfe80 << 48, low: (value >> 24 ^ 0x02_0000) << 40 | 0xfffe << 24 | value & 0xff_ffff)
    }
}
