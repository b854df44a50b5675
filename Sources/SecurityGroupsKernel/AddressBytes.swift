import SecurityGroupsCore

extension IPAddress {
    /// In network byte order: 4 or 16 bytes, as netfilter stores addresses.
    var networkBytes: [UInt8] {
        switch self {
        case .v4(let v4): withUnsafeBytes(of: v4.value.bigEndian) { Array($0) }
        case .v6(let v6): withUnsafeBytes(of: v6.high.bigEndian) { Array($0) } + withUnsafeBytes(of: v6.low.bigEndian) { Array($0) }
        }
    }

    /// The address of 4 (IPv4) or 16 (IPv6) bytes in network byte order.
    init(networkBytes bytes: ArraySlice<UInt8>) {
        func word(_ slice: ArraySlice<UInt8>) -> UInt64 { slice.reduce(0) { $0 << 8 | UInt64($1) } }
        let start = bytes.startIndex
        self = bytes.count == 4 ? .v4(IPv4Address(UInt32(word(bytes))))
            : .v6(IPv6Address(high: word(bytes[start..<start + 8]), low: word(bytes[start + 8..<start + 16])))
    }
}

/// An address prefix as the mask netfilter stores with it.
enum PrefixMask {
    /// `length` leading one bits over `count` bytes.
    static func bytes(_ length: Int, count: Int) -> [UInt8] {
        (0..<count).map { index in
            let bits = length - index * 8
            return bits >= 8 ? 0xff : bits <= 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
        }
    }

    /// The prefix length a mask holds; nil when it is no prefix (a one after a zero).
    static func length(of mask: [UInt8]) -> Int? {
        let ones = mask.prefix { $0 == 0xff }.count
        let partial = ones < mask.count ? (~mask[ones]).leadingZeroBitCount : 0
        let length = ones * 8 + partial
        return mask == bytes(length, count: mask.count) ? length : nil
    }
}
