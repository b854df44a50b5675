/// A MAC address: six octets, printed lower-case and zero-padded
/// (`02:00:00:00:00:07`), as ebtables-nft and libvirt print it.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var octets: [UInt8]

    public init(octets: [UInt8]) {
        precondition(octets.count == 6)
        self.octets = octets
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
        self.octets = octets
    }

    public var description: String {
        octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// The EUI-64 link-local address the guest derives from this MAC
    /// (`fe80::` + MAC with the universal/local bit flipped and `ff:fe` inserted).
    public var linkLocalIPv6: IPv6Address {
        let o = octets.map(UInt16.init)
        return IPv6Address(groups: [
            0xfe80, 0, 0, 0,
            (o[0] ^ 0x02) << 8 | o[1], o[2] << 8 | 0xff, 0xfe00 | o[3], o[4] << 8 | o[5],
        ])
    }
}
