import SecurityGroupsCore

/// Rules as iptables-nft 1.8.9 writes them into nf_tables (see
/// docs/nftables-notes.md), read back as our rules: interfaces, protocol
/// and addresses as `meta`/`payload`, `bitwise` and `cmp`; tcp and udp
/// ports as `payload` and `cmp` (a range as `cmp gte` and `cmp lte`);
/// the other matches and the NAT and CT targets as compat expressions
/// carrying the `xt_*` bytes `KernelEntry` builds; a counter; the verdict.
/// `expressions` writes a rule so; `rule` reads it back, and anything else
/// is not ours (nil).
enum IPTablesNFTRules {
    typealias Expression = NFTablesRules.Expression
    private typealias C = NFTablesRules.Constant

    /// The expressions iptables-nft writes for `rule`, in its order:
    /// interfaces, protocol, addresses, the matches, a counter, the target.
    static func expressions(_ rule: IPTablesRule, family: AddressFamily,
                            sets: inout some KernelEntry.SetIndexes) throws(NetfilterError) -> [Expression]? {
        let register: UInt32 = 1
        var expressions: [Expression] = []
        for (key, name) in [(C.metaIIFName, rule.inInterface), (C.metaOIFName, rule.outInterface)] {
            guard let name else { continue }
            let bytes = Array(name.utf8)
            let data = bytes.last == UInt8(ascii: "+") ? Array(bytes.dropLast()) : bytes + [0]
            expressions += [.meta(key: key, register: register), .cmp(operation: C.equal, register: register, data: data)]
        }
        if let number = rule.ipProtocol {
            expressions += [.meta(key: C.metaL4Proto, register: register), .cmp(operation: C.equal, register: register, data: [number])]
        }
        let (sourceAt, destinationAt): (UInt32, UInt32) = family == .ipv4 ? (12, 16) : (8, 24)
        for (network, inverted, offset) in [(rule.source, rule.sourceInverted, sourceAt), (rule.destination, rule.destinationInverted, destinationAt)] {
            guard let network else { continue }
            guard network.address.family == family else { return nil }
            let bytes = network.address.networkBytes
            let operation = inverted ? C.notEqual : C.equal
            if network.prefixLength % 8 == 0 {
                let loaded = network.prefixLength / 8
                guard loaded > 0 else { continue }
                expressions += [.payload(base: C.networkHeader, offset: offset, length: UInt32(loaded), register: register),
                                .cmp(operation: operation, register: register, data: Array(bytes.prefix(loaded)))]
            } else {
                let mask = PrefixMask.bytes(network.prefixLength, count: bytes.count)
                expressions += [.payload(base: C.networkHeader, offset: offset, length: UInt32(bytes.count), register: register),
                                .bitwise(source: register, destination: register, mask: mask, xor: [UInt8](repeating: 0, count: bytes.count)),
                                .cmp(operation: operation, register: register, data: zip(bytes, mask).map { $0 & $1 })]
            }
        }
        for match in rule.matches {
            switch match {
            case .tcp(let ports), .udp(let ports):
                expressions += portExpressions(ports, register: register)
            default:
                guard let (name, revision, info) = try KernelEntry.compatPayload(match, family: family, sets: &sets) else { return nil }
                expressions.append(.match(name: name, revision: revision, info: info))
            }
        }
        expressions.append(.counter)
        switch rule.target {
        case .accept: expressions.append(.verdict(code: C.accept, chain: nil))
        case .drop: expressions.append(.verdict(code: C.drop, chain: nil))
        case .return: expressions.append(.verdict(code: C.return, chain: nil))
        case .jump(let chain): expressions.append(.verdict(code: C.jump, chain: chain))
        case .dnat, .notrack:
            let (name, revision, info) = KernelEntry.compatTargetPayload(rule.target)
            expressions.append(.target(name: name, revision: revision, info: info))
        }
        return expressions
    }

    /// Both ports exact: one load of both; else each one not "any": exact, or a range.
    private static func portExpressions(_ ports: PortMatch, register: UInt32) -> [Expression] {
        func bytes(_ port: UInt16) -> [UInt8] { [UInt8(port >> 8), UInt8(port & 0xff)] }
        let (source, destination) = (ports.sourcePorts, ports.destinationPorts)
        if source.count == 1, destination.count == 1 {
            return [.payload(base: C.transportHeader, offset: 0, length: 4, register: register),
                    .cmp(operation: C.equal, register: register, data: bytes(source.lowerBound) + bytes(destination.lowerBound))]
        }
        var expressions: [Expression] = []
        for (range, offset) in [(source, UInt32(0)), (destination, UInt32(2))] where range != PortMatch.anyPort {
            expressions.append(.payload(base: C.transportHeader, offset: offset, length: 2, register: register))
            expressions.append(range.count == 1 ? .cmp(operation: C.equal, register: register, data: bytes(range.lowerBound))
                : .range(operation: C.equal, register: register, from: bytes(range.lowerBound), to: bytes(range.upperBound)))
        }
        return expressions
    }

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
                    guard mask.count == loaded, xor.allSatisfy({ $0 == 0 }), let length = PrefixMask.length(of: mask) else { return nil }
                    prefix = length
                    index += 1
                }
                guard case .cmp(let operation, register, let data)? = next(), data.count == loaded,
                      operation == C.equal || operation == C.notEqual else { return nil }
                index += 1
                let network = IPNetwork(IPAddress(networkBytes: (data + [UInt8](repeating: 0, count: addressLength - loaded))[...]), prefixLength: prefix)
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
}
