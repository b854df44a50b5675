private import CIPTables
private import Glibc
import SecurityGroupsCore

/// Converts between our structured rules and the shim's flat `sg_rule`,
/// resolving set names to the kernel's per-namespace set indexes.
struct RuleCodec {
    /// Set name → kernel index, looked up once per run.
    private var indexes: [String: UInt16] = [:]
    private var names: [UInt16: String] = [:]

    init() {}

    /// A codec that knows these set indexes without asking the kernel.
    init(setIndexes: [String: UInt16]) {
        indexes = setIndexes
        names = Dictionary(setIndexes.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The entry bytes of `rule`, as iptables-legacy would write them.
    mutating func encode(_ rule: IPTablesRule, family: AddressFamily) throws(NetfilterError) -> [UInt8] {
        var flat = sg_rule()
        try fill(&flat, from: rule, family: family)
        var size = 0
        guard let entry = sg_rule_encode(family == .ipv4 ? 4 : 6, &flat, &size) else {
            throw NetfilterError(operation: "encode rule", object: IPTablesSaveFormat.line(rule, chain: "<chain>"),
                                 reason: "not expressible as a kernel entry")
        }
        defer { free(entry) }
        return Array(UnsafeRawBufferPointer(start: entry, count: size))
    }

    /// The rule an entry holds, or `.opaque` when it is not one of ours.
    mutating func decode(_ entry: UnsafeRawPointer, targetName: String?, family: AddressFamily) -> KernelRule {
        var flat = sg_rule()
        guard sg_rule_decode(family == .ipv4 ? 4 : 6, entry, targetName, &flat) == 1,
              let rule = rule(from: flat, family: family) else { return .opaque }
        return .known(rule)
    }

    private mutating func setIndex(_ name: String) throws(NetfilterError) -> UInt16 {
        if let index = indexes[name] { return index }
        var index: UInt16 = 0
        guard sg_ipset_index(name, &index) == 0 else {
            let code = errno
            throw NetfilterError(operation: "look up set", object: name,
                                 reason: code == ENOENT ? "no such set" : String(cString: strerror(code)), errno: code)
        }
        indexes[name] = index
        names[index] = name
        return index
    }

    private mutating func setName(_ index: UInt16) -> String? {
        if let name = names[index] { return name }
        var buffer = [CChar](repeating: 0, count: 32)
        guard sg_ipset_name(index, &buffer) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        names[index] = name
        indexes[name] = index
        return name
    }

    // MARK: - Swift → C

    private mutating func fill(_ flat: inout sg_rule, from rule: IPTablesRule, family: AddressFamily) throws(NetfilterError) {
        if let source = rule.source {
            withUnsafeMutableBytes(of: &flat.src) { copyAddress(source.address, to: $0) }
            flat.src_prefix = UInt8(source.prefixLength)
        }
        if let destination = rule.destination {
            withUnsafeMutableBytes(of: &flat.dst) { copyAddress(destination.address, to: $0) }
            flat.dst_prefix = UInt8(destination.prefixLength)
        }
        flat.src_inverted = rule.sourceInverted ? 1 : 0
        flat.dst_inverted = rule.destinationInverted ? 1 : 0
        withUnsafeMutableBytes(of: &flat.in_interface) { copyName(rule.inInterface ?? "", to: $0) }
        withUnsafeMutableBytes(of: &flat.out_interface) { copyName(rule.outInterface ?? "", to: $0) }
        flat.protocol = UInt16(rule.ipProtocol ?? 0)
        guard rule.matches.count <= Int(SG_MAX_MATCHES) else {
            throw NetfilterError(operation: "encode rule", object: "\(rule.matches.count) matches", reason: "too many matches")
        }
        flat.match_count = Int32(rule.matches.count)
        var matches: [sg_match] = []
        for match in rule.matches { matches.append(try flatMatch(match)) }
        withUnsafeMutableBytes(of: &flat.matches) { raw in
            let typed = raw.bindMemory(to: sg_match.self)
            for (index, match) in matches.enumerated() { typed[index] = match }
        }
        switch rule.target {
        case .accept: setTarget(&flat, "ACCEPT")
        case .drop: setTarget(&flat, "DROP")
        case .return: setTarget(&flat, "RETURN")
        case .jump(let chain): setTarget(&flat, chain)
        case .dnat(let address, let port):
            flat.target_kind = Int32(SG_TARGET_DNAT.rawValue)
            withUnsafeMutableBytes(of: &flat.dnat_address) { copyAddress(.v4(address), to: $0) }
            flat.dnat_port = port
        case .notrack:
            flat.target_kind = Int32(SG_TARGET_NOTRACK.rawValue)
        }
    }

    private func setTarget(_ flat: inout sg_rule, _ name: String) {
        flat.target_kind = Int32(SG_TARGET_STANDARD.rawValue)
        withUnsafeMutableBytes(of: &flat.target_name) { copyName(name, to: $0) }
    }

    private mutating func flatMatch(_ match: Match) throws(NetfilterError) -> sg_match {
        var flat = sg_match()
        switch match {
        case .physdev(let physdev):
            flat.kind = Int32(SG_MATCH_PHYSDEV.rawValue)
            withUnsafeMutableBytes(of: &flat.physdev_in) { copyName(physdev.inPort ?? "", to: $0) }
            withUnsafeMutableBytes(of: &flat.physdev_out) { copyName(physdev.outPort ?? "", to: $0) }
            flat.physdev_bitmask = PhysdevBits.encode(physdev)
        case .tcp(let ports), .udp(let ports):
            if case .tcp = match { flat.kind = Int32(SG_MATCH_TCP.rawValue) } else { flat.kind = Int32(SG_MATCH_UDP.rawValue) }
            flat.sport = (ports.sourcePorts.lowerBound, ports.sourcePorts.upperBound)
            flat.dport = (ports.destinationPorts.lowerBound, ports.destinationPorts.upperBound)
        case .icmp(let type, let codes), .icmp6(let type, let codes):
            if case .icmp = match { flat.kind = Int32(SG_MATCH_ICMP.rawValue) } else { flat.kind = Int32(SG_MATCH_ICMP6.rawValue) }
            flat.icmp_type = type
            flat.icmp_code = (codes.lowerBound, codes.upperBound)
        case .state(let states):
            flat.kind = Int32(SG_MATCH_STATE.rawValue)
            flat.state_mask = states.rawValue
        case .set(let set):
            flat.kind = Int32(SG_MATCH_SET.rawValue)
            flat.set_index = try setIndex(set.name)
            flat.set_flags = (set.direction == .source ? SetFlags.source : 0) | (set.portDirection == .source ? SetFlags.secondSource : 0)
                | (set.inverted ? SetFlags.inverted : 0)
            flat.set_dim = set.portDirection == nil ? 1 : 2
            // The kernel reads the port dimension from the bridge port only with
            // this match flag (iptables cannot set it, and iptables-save does not show it).
            flat.set_cmdflags = set.portDirection == nil ? 0 : SetFlags.physdevPorts
        case .hopLimitEquals(let value):
            flat.kind = Int32(SG_MATCH_HL_EQ.rawValue)
            flat.hop_limit = value
        case .destinationIsLocal(let inverted):
            flat.kind = Int32(SG_MATCH_ADDRTYPE.rawValue)
            flat.addrtype_dest = AddressTypeBits.local
            flat.addrtype_flags = inverted ? AddressTypeBits.invertDestination : 0
        }
        return flat
    }

    // MARK: - C → Swift

    private mutating func rule(from flat: sg_rule, family: AddressFamily) -> IPTablesRule? {
        var flat = flat
        var rule = IPTablesRule(target: .accept)
        if flat.src_prefix > 0 {
            rule.source = withUnsafeBytes(of: &flat.src) { network($0, prefix: Int(flat.src_prefix), family: family) }
        }
        if flat.dst_prefix > 0 {
            rule.destination = withUnsafeBytes(of: &flat.dst) { network($0, prefix: Int(flat.dst_prefix), family: family) }
        }
        rule.sourceInverted = flat.src_inverted != 0
        rule.destinationInverted = flat.dst_inverted != 0
        guard !rule.sourceInverted || rule.source != nil, !rule.destinationInverted || rule.destination != nil else { return nil }
        rule.inInterface = withUnsafeBytes(of: &flat.in_interface) { name($0) }
        rule.outInterface = withUnsafeBytes(of: &flat.out_interface) { name($0) }
        guard flat.protocol <= 255 else { return nil }
        rule.ipProtocol = flat.protocol == 0 ? nil : UInt8(flat.protocol)
        let matches: [sg_match] = withUnsafeBytes(of: &flat.matches) { Array($0.bindMemory(to: sg_match.self).prefix(Int(flat.match_count))) }
        for match in matches {
            guard let converted = self.match(from: match) else { return nil }
            rule.matches.append(converted)
        }
        switch UInt32(flat.target_kind) {
        case SG_TARGET_STANDARD.rawValue:
            switch withUnsafeBytes(of: &flat.target_name, { name($0) }) ?? "" {
            case "ACCEPT": rule.target = .accept
            case "DROP": rule.target = .drop
            case "RETURN": rule.target = .return
            case "": return nil
            case let chain: rule.target = .jump(chain)
            }
        case SG_TARGET_DNAT.rawValue:
            guard case .v4(let address)? = withUnsafeBytes(of: &flat.dnat_address, { network($0, prefix: 32, family: .ipv4) })?.address
            else { return nil }
            rule.target = .dnat(address, port: flat.dnat_port)
        case SG_TARGET_NOTRACK.rawValue:
            rule.target = .notrack
        default:
            return nil
        }
        return rule
    }

    private mutating func match(from flat: sg_match) -> Match? {
        var flat = flat
        switch UInt32(flat.kind) {
        case SG_MATCH_PHYSDEV.rawValue:
            guard var physdev = PhysdevBits.decode(flat.physdev_bitmask) else { return nil }
            physdev.inPort = withUnsafeBytes(of: &flat.physdev_in) { name($0) }
            physdev.outPort = withUnsafeBytes(of: &flat.physdev_out) { name($0) }
            return .physdev(physdev)
        case SG_MATCH_TCP.rawValue, SG_MATCH_UDP.rawValue:
            guard flat.sport.0 <= flat.sport.1, flat.dport.0 <= flat.dport.1 else { return nil }
            let ports = PortMatch(sourcePorts: flat.sport.0...flat.sport.1, destinationPorts: flat.dport.0...flat.dport.1)
            return UInt32(flat.kind) == SG_MATCH_TCP.rawValue ? .tcp(ports) : .udp(ports)
        case SG_MATCH_ICMP.rawValue, SG_MATCH_ICMP6.rawValue:
            guard flat.icmp_code.0 <= flat.icmp_code.1 else { return nil }
            let codes = flat.icmp_code.0...flat.icmp_code.1
            return UInt32(flat.kind) == SG_MATCH_ICMP.rawValue ? .icmp(type: flat.icmp_type, codes: codes) : .icmp6(type: flat.icmp_type, codes: codes)
        case SG_MATCH_STATE.rawValue:
            let known: ConnectionStates = [.invalid, .established, .related, .new, .untracked]
            guard flat.state_mask & ~known.rawValue == 0 else { return nil }
            return .state(ConnectionStates(rawValue: flat.state_mask))
        case SG_MATCH_SET.rawValue:
            let second = flat.set_dim == 2
            guard flat.set_dim == 1 || second, flat.set_flags & ~(SetFlags.source | SetFlags.secondSource | SetFlags.inverted) == 0,
                  flat.set_cmdflags == (second ? SetFlags.physdevPorts : 0),
                  second || flat.set_flags & SetFlags.secondSource == 0, let name = setName(flat.set_index) else { return nil }
            func direction(_ bit: UInt8) -> SetMatch.Direction { flat.set_flags & bit != 0 ? .source : .destination }
            return .set(SetMatch(name, direction(SetFlags.source), port: second ? direction(SetFlags.secondSource) : nil,
                                 inverted: flat.set_flags & SetFlags.inverted != 0))
        case SG_MATCH_HL_EQ.rawValue:
            return .hopLimitEquals(flat.hop_limit)
        case SG_MATCH_ADDRTYPE.rawValue:
            guard flat.addrtype_dest == AddressTypeBits.local,
                  flat.addrtype_flags == 0 || flat.addrtype_flags == AddressTypeBits.invertDestination else { return nil }
            return .destinationIsLocal(inverted: flat.addrtype_flags != 0)
        default:
            return nil
        }
    }
}

/// XT_PHYSDEV_OP_* bits.
enum PhysdevBits {
    static let inPort: UInt8 = 0x01, outPort: UInt8 = 0x02, bridged: UInt8 = 0x04, isIn: UInt8 = 0x08, isOut: UInt8 = 0x10

    static func encode(_ physdev: PhysdevMatch) -> UInt8 {
        (physdev.inPort != nil ? inPort : 0) | (physdev.outPort != nil ? outPort : 0) | (physdev.isBridged ? bridged : 0)
            | (physdev.isIn ? isIn : 0) | (physdev.isOut ? isOut : 0)
    }

    /// The flags of a bitmask; the port names are filled in by the caller.
    static func decode(_ bits: UInt8) -> PhysdevMatch? {
        guard bits & ~(inPort | outPort | bridged | isIn | isOut) == 0 else { return nil }
        return PhysdevMatch(isIn: bits & isIn != 0, isOut: bits & isOut != 0, isBridged: bits & bridged != 0)
    }
}

/// IPSET_DIM_ONE_SRC and IPSET_INV_MATCH of xt_set_info.flags.
/// IPSET_INV_MATCH, IPSET_DIM_ONE_SRC, IPSET_DIM_TWO_SRC.
enum SetFlags {
    static let inverted: UInt8 = 0x01
    static let source: UInt8 = 0x02
    static let secondSource: UInt8 = 0x04
    /// IPSET_FLAG_PHYSDEV, a match flag.
    static let physdevPorts: UInt32 = 0x02
}

/// XT_ADDRTYPE_LOCAL and XT_ADDRTYPE_INVERT_DEST.
enum AddressTypeBits {
    static let local: UInt16 = 1 << 2
    static let invertDestination: UInt32 = 0x2
}

private func copyAddress(_ address: IPAddress, to buffer: UnsafeMutableRawBufferPointer) {
    switch address {
    case .v4(let v4):
        withUnsafeBytes(of: v4.value.bigEndian) { buffer.copyMemory(from: $0) }
    case .v6(let v6):
        withUnsafeBytes(of: v6.high.bigEndian) { UnsafeMutableRawBufferPointer(rebasing: buffer[0..<8]).copyMemory(from: $0) }
        withUnsafeBytes(of: v6.low.bigEndian) { UnsafeMutableRawBufferPointer(rebasing: buffer[8..<16]).copyMemory(from: $0) }
    }
}

private func network(_ bytes: UnsafeRawBufferPointer, prefix: Int, family: AddressFamily) -> IPNetwork? {
    switch family {
    case .ipv4:
        let value = bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return IPNetwork(.v4(IPv4Address(value)), prefixLength: prefix)
    case .ipv6:
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return IPNetwork(.v6(IPv6Address(high: high, low: low)), prefixLength: prefix)
    }
}

private func copyName(_ name: String, to buffer: UnsafeMutableRawBufferPointer) {
    let bytes = Array(name.utf8.prefix(buffer.count - 1))
    buffer.copyBytes(from: bytes)
}

private func name(_ bytes: UnsafeRawBufferPointer) -> String? {
    let value = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    return value.isEmpty ? nil : value
}
