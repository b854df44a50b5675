/// An IPv6 address, parsed from RFC 4291 text and printed as glibc's
/// `inet_ntop` prints it (which is what iptables-save, ipset and ebtables show).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The upper and lower 64 bits; kept inline so an address costs no allocation.
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(groups: [UInt16]) {
        precondition(groups.count == 8)
        high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { index in
            let word = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (UInt64(3 - index % 4) * 16))
        }
    }

    /// Parses full, `::`-compressed and IPv4-suffixed forms; no zone index.
    public init?(_ text: Substring) {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        let halves = text.splitOnDoubleColon()
        guard halves.count <= 2 else { return nil }
        let compressed = halves.count == 2
        guard var groups = Self.parseGroups(halves[0], allowIPv4Suffix: !compressed) else { return nil }
        if compressed {
            guard let tail = Self.parseGroups(halves[1], allowIPv4Suffix: true),
                  groups.count + tail.count <= 7 else { return nil }
            groups += Array(repeating: 0, count: 8 - groups.count - tail.count) + tail
        }
        guard groups.count == 8 else { return nil }
        self.init(groups: groups)
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    private static func parseGroups(_ text: Substring, allowIPv4Suffix: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1, allowIPv4Suffix, part.contains(".") {
                guard let v4 = IPv4Address(part) else { return nil }
                groups.append(UInt16(v4.value >> 16))
                groups.append(UInt16(v4.value & 0xffff))
                continue
            }
            guard (1...4).contains(part.count), part.allSatisfy(\.isASCIIHexDigit),
                  let group = UInt16(part, radix: 16) else { return nil }
            groups.append(group)
        }
        return groups
    }

    public var description: String {
        // glibc inet_ntop6: compress the first longest run of two or more zero groups.
        let groups = self.groups
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                let length = index - runStart
                if length > bestLength { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var out = ""
        for index in 0..<8 {
            if bestStart >= 0, index >= bestStart, index < bestStart + bestLength {
                if index == bestStart { out += ":" }
                continue
            }
            if index != 0 { out += ":" }
            if index == 6, bestStart == 0, bestLength == 6 || (bestLength == 5 && groups[5] == 0xffff) {
                out += IPv4Address(UInt32(groups[6]) << 16 | UInt32(groups[7])).description
                return out
            }
            out += String(groups[index], radix: 16)
        }
        if bestStart >= 0, bestStart + bestLength == 8 { out += ":" }
        return out
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

extension Substring {
    /// The text split at each `::`; `a::b::c` gives three parts.
    fileprivate func splitOnDoubleColon() -> [Substring] {
        var parts: [Substring] = []
        var start = startIndex
        var index = startIndex
        while index < endIndex {
            let next = self.index(after: index)
            if self[index] == ":", next < endIndex, self[next] == ":" {
                parts.append(self[start..<index])
                start = self.index(after: next)
                index = start
            } else {
                index = next
            }
        }
        parts.append(self[start..<endIndex])
        return parts
    }
}
