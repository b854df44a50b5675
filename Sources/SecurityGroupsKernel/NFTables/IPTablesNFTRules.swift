import SecurityGroupsCore

/// Rules as iptables-nft 1.8.9 writes them into nf_tables (see
/// docs/nftables-notes.md), read back as our rules: interfaces, protocol
/// and addresses as `meta`/`payload`, `bitwise` and `cmp`; tcp and udp
/// ports as `payload` and `cmp` (a range as `cmp gte` and `cmp lte`);
/// the other matches and the NAT and CT targets as compat expressions
/// carrying the `xt_*` bytes `KernelEntry` builds; a counter; the verdict.
/// Anything else is not ours (nil).
enum IPTablesNFTRules {
    typealias Expression = NFTablesRules.Expression
    private typealias C = NFTablesRules.Constant

    static func rule(_ expressions: [Expression], family: AddressFamily, sets: inout some KernelEntry.SetIndexes) -> IPTablesRule? {
        var rule = IPTablesRule(target: .accept)
        var target: Target?
        var ports: PortMatch?
        func flushPorts() -> Bool {
            guard let pending = ports else { return true }
            ports = nil
            switch rule.ipProtocol {
            case 6: rule.matches.append(.tcp(pending))
            case 17: rule.matches.append(.udp(pending))
            default: return false
            }
            return true
        }
        var index = 0
        func next() -> Expression? { index < expressions.count ? expressions[index] : nil }
        while let expression = next() {
            index += 1
            if case .payload(base: C.transportHeader, _, _, _) = expression {} else { guard flushPorts() else { return nil } }
            switch expression {
            case .meta(let key, let register) where key == C.metaIIFName || key == C.metaOIFName:
                guard case .cmp(C.equal, register, let data)? = next(), let name = interface(data) else { return nil }
                index += 1
                if key == C.metaIIFName { rule.inInterface = name } else { rule.outInterface = name }
            case .meta(C.metaL4Proto, let register):
                guard case .cmp(C.equal, register, let data)? = next(), data.count == 1 else { return nil }
                index += 1
                rule.ipProtocol = data[0]
            case .payload(C.networkHeader, let offset, let length, let register):
                // A prefix of whole bytes loads only those; another is masked.
                let addressLength = family == .ipv4 ? 4 : 16
                let (sourceAt, destinationAt): (UInt32, UInt32) = family == .ipv4 ? (12, 16) : (8, 24)
                let loaded = Int(length)
                guard (1...addressLength).contains(loaded), offset == sourceAt || offset == destinationAt else { return nil }
                var prefix = loaded * 8
                if case .bitwise(register, register, let mask, let xor)? = next() {
                    guard mask.count == loaded, xor.allSatisfy({ $0 == 0 }), let length = prefixLength(mask) else { return nil }
                    prefix = length
                    index += 1
                }
                guard case .cmp(let operation, register, let data)? = next(), data.count == loaded,
                      operation == C.equal || operation == C.notEqual else { return nil }
                index += 1
                let network = IPNetwork(address(data + [UInt8](repeating: 0, count: addressLength - loaded)), prefixLength: prefix)
                if offset == sourceAt {
                    (rule.source, rule.sourceInverted) = (network, operation == C.notEqual)
                } else {
                    (rule.destination, rule.destinationInverted) = (network, operation == C.notEqual)
                }
            case .payload(C.transportHeader, let offset, let length, let register):
                var pending = ports ?? PortMatch()
                guard readPorts(offset: offset, length: length, register: register, into: &pending, expressions, &index) else { return nil }
                ports = pending
            case .match(let name, let revision, let info):
                guard let match = KernelEntry.compatMatch(name: name, revision: revision, info: info, family: family, sets: &sets)
                else { return nil }
                rule.matches.append(match)
            case .counter:
                continue
            case .verdict(let code, let chain):
                switch (code, chain) {
                case (C.accept, nil): target = .accept
                case (C.drop, nil): target = .drop
                case (C.return, nil): target = .return
                case (C.jump, let chain?): target = .jump(chain)
                default: return nil
                }
            case .target(let name, let revision, let info):
                guard let compat = KernelEntry.compatTarget(name: name, revision: revision, info: info) else { return nil }
                target = compat
            default:
                return nil
            }
        }
        guard flushPorts(), let target else { return nil }
        rule.target = target
        return rule
    }

    /// Source and destination ports: one load of both (both exact), or a
    /// load of one, compared equal or between two bounds.
    private static func readPorts(offset: UInt32, length: UInt32, register: UInt32, into ports: inout PortMatch,
                                  _ expressions: [Expression], _ index: inout Int) -> Bool {
        func port(_ data: [UInt8]) -> UInt16? { data.count == 2 ? UInt16(data[0]) << 8 | UInt16(data[1]) : nil }
        if offset == 0, length == 4 {
            guard index < expressions.count, case .cmp(C.equal, register, let data) = expressions[index], data.count == 4,
                  let source = port(Array(data[0..<2])), let destination = port(Array(data[2..<4])) else { return false }
            index += 1
            (ports.sourcePorts, ports.destinationPorts) = (source...source, destination...destination)
            return true
        }
        guard length == 2, offset == 0 || offset == 2, index < expressions.count else { return false }
        var range: ClosedRange<UInt16>
        switch expressions[index] {
        case .cmp(C.equal, register, let data):
            guard let value = port(data) else { return false }
            range = value...value
            index += 1
        case .cmp(C.greaterOrEqual, register, let low):
            guard index + 1 < expressions.count, case .cmp(C.lessOrEqual, register, let high) = expressions[index + 1],
                  let from = port(low), let to = port(high), from <= to else { return false }
            range = from...to
            index += 2
        case .range(C.equal, register, let low, let high):
            guard let from = port(low), let to = port(high), from <= to else { return false }
            range = from...to
            index += 1
        default:
            return false
        }
        if offset == 0 { ports.sourcePorts = range } else { ports.destinationPorts = range }
        return true
    }

    /// `NAME\0` (exact) or `PREFIX` without its NUL (iptables' `PREFIX+`).
    private static func interface(_ data: [UInt8]) -> String? {
        guard !data.isEmpty else { return nil }
        if data.last == 0 {
            let name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            return name.isEmpty ? nil : name
        }
        return String(decoding: data, as: UTF8.self) + "+"
    }

    private static func address(_ bytes: [UInt8]) -> IPAddress {
        func word(_ slice: ArraySlice<UInt8>) -> UInt64 { slice.reduce(0) { $0 << 8 | UInt64($1) } }
        return bytes.count == 4 ? .v4(IPv4Address(UInt32(word(bytes[0..<4]))))
            : .v6(IPv6Address(high: word(bytes[0..<8]), low: word(bytes[8..<16])))
    }

    private static func prefixLength(_ mask: [UInt8]) -> Int? {
        let ones = mask.prefix { $0 == 0xff }.count
        guard ones < mask.count else { return ones * 8 }
        let partial = mask[ones].leadingZeroBitCount == 0 ? (~mask[ones]).leadingZeroBitCount : 0
        let expected = UInt8(truncatingIfNeeded: 0xff << (8 - partial))
        guard mask[ones] == (partial == 0 ? 0 : expected), mask.dropFirst(ones + 1).allSatisfy({ $0 == 0 }) else { return nil }
        return ones * 8 + partial
    }
}
