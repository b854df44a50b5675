private import CIPTables
import SecurityGroupsCore

/// The kernel entry of a rule (`ipt_entry` / `ip6t_entry`, its matches,
/// its target), built byte for byte as iptables-legacy 1.8.9 writes it, and
/// read back only when it is exactly such an entry. Over the kernel's own
/// structures; a match kind is added here alone (and to `Match`).
enum KernelEntry {
    /// Set name ↔ kernel index, for set matches.
    protocol SetIndexes {
        mutating func index(of set: String) throws(NetfilterError) -> UInt16
        mutating func name(of index: UInt16) -> String?
    }

    /// The entry's bytes, or nil when the rule cannot be one.
    static func encode(_ rule: IPTablesRule, family: AddressFamily, sets: inout some SetIndexes) throws(NetfilterError) -> [UInt8]? {
        var writer = EntryWriter(family: family)
        guard writer.header(rule) else { return nil }
        for match in rule.matches {
            guard let (name, revision, payload) = try payload(match, family: family, sets: &sets) else { return nil }
            writer.append(name: name, revision: revision, payload: payload)
        }
        writer.target(rule.target, kernelForm: false)
        return writer.bytes
    }

    /// The rule `entry` holds when our encoder gives back the same bytes
    /// (counters, `comefrom` and a jump's offset aside): anything not
    /// decoded is then certain to be absent. `targetName` is libiptc's
    /// name of the target (a chain, or a verdict).
    static func decode(_ entry: UnsafeRawPointer, targetName: String?, family: AddressFamily,
                       sets: inout some SetIndexes) -> IPTablesRule? {
        let layout = EntryLayout(family)
        let nextOffset = Int(entry.loadUnaligned(fromByteOffset: layout.nextOffset, as: UInt16.self))
        let targetOffset = Int(entry.loadUnaligned(fromByteOffset: layout.targetOffset, as: UInt16.self))
        guard targetOffset >= layout.size, targetOffset + EntryWriter.targetHeader <= nextOffset, nextOffset <= 4096 else { return nil }
        var bytes = Array(UnsafeRawBufferPointer(start: entry, count: nextOffset))
        var rule = IPTablesRule(target: .accept)
        guard layout.readHeader(bytes, into: &rule) else { return nil }
        var at = layout.size
        while at < targetOffset {
            let size = Int(bytes.load(at, as: UInt16.self))
            guard size >= EntryWriter.matchHeader, at + size <= targetOffset else { return nil }
            // The kernel writes back only a name's bytes up to its NUL (xt_obj_to_user).
            bytes.clearNameTail(at + 2, length: EntryWriter.nameLength)
            let name = bytes.name(at + 2, length: EntryWriter.nameLength)
            guard let match = match(name, bytes, payloadAt: at + EntryWriter.matchHeader, sets: &sets) else { return nil }
            rule.matches.append(match)
            at += size
        }
        bytes.clearNameTail(targetOffset + 2, length: EntryWriter.nameLength)
        guard let target = target(bytes, at: targetOffset, libiptcName: targetName) else { return nil }
        rule.target = target

        guard var expected = try? encode(rule, family: family, sets: &sets), expected.count == nextOffset else { return nil }
        expected.replaceSubrange(targetOffset..., with: EntryWriter(family: family).targetBytes(rule.target, kernelForm: true))
        // Compared: the IP header, the offsets, matches and target; a jump's
        // verdict (its offset in the table) aside.
        let verdict = targetOffset + EntryWriter.targetHeader
        let compared = [0..<layout.ipHeader, layout.targetOffset..<layout.targetOffset + 4]
            + (target.isJump ? [layout.size..<verdict, verdict + 4..<nextOffset] : [layout.size..<nextOffset])
        return compared.allSatisfy { expected[$0] == bytes[$0] } ? rule : nil
    }

    /// A compat match or target as nf_tables carries it (its name, revision
    /// and `xt_*` bytes, padded to the kernel's alignment): understood only
    /// when our encoder gives back the same bytes.
    static func compatMatch(name: String, revision: UInt32, info: [UInt8], family: AddressFamily,
                            sets: inout some SetIndexes) -> Match? {
        guard let match = match(name, info, payloadAt: 0, sets: &sets),
              let encoded = try? payload(match, family: family, sets: &sets),
              encoded.0 == name, UInt32(encoded.1) == revision, sameBytes(encoded.2, info) else { return nil }
        return match
    }

    static func compatTarget(name: String, revision: UInt32, info: [UInt8]) -> Target? {
        var header = [UInt8](repeating: 0, count: EntryWriter.targetHeader)
        header.storeName(name, at: 2, length: EntryWriter.nameLength)
        header[2 + EntryWriter.nameLength] = UInt8(truncatingIfNeeded: revision)
        guard name == "DNAT" || name == "CT", let target = target(header + info, at: 0, libiptcName: nil) else { return nil }
        let encoded = EntryWriter(family: .ipv4).targetBytes(target, kernelForm: false).dropFirst(EntryWriter.targetHeader)
        return sameBytes(Array(encoded), info) ? target : nil
    }

    /// A match's compat form: name, revision and `xt_*` bytes padded to the
    /// kernel's alignment, as nf_tables carries them (nil: not expressible).
    static func compatPayload(_ match: Match, family: AddressFamily,
                              sets: inout some SetIndexes) throws(NetfilterError) -> (String, UInt32, [UInt8])? {
        guard let (name, revision, info) = try payload(match, family: family, sets: &sets) else { return nil }
        return (name, UInt32(revision), padded(info))
    }

    /// The DNAT or CT target's compat form.
    static func compatTargetPayload(_ target: Target) -> (String, UInt32, [UInt8]) {
        let bytes = EntryWriter(family: .ipv4).targetBytes(target, kernelForm: false)
        let name = bytes.name(2, length: EntryWriter.nameLength)
        return (name, UInt32(bytes[2 + EntryWriter.nameLength]), padded(Array(bytes.dropFirst(EntryWriter.targetHeader))))
    }

    private static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (EntryWriter.alignment - bytes.count % EntryWriter.alignment) % EntryWriter.alignment)
    }

    /// Equal but for zero padding at the end of either.
    private static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        return a.prefix(common) == b.prefix(common) && a.dropFirst(common).allSatisfy { $0 == 0 } && b.dropFirst(common).allSatisfy { $0 == 0 }
    }

    // MARK: Matches

    private static func payload(_ match: Match, family: AddressFamily,
                                sets: inout some SetIndexes) throws(NetfilterError) -> (String, UInt8, [UInt8])? {
        switch match {
        case .physdev(let physdev):
            var info = xt_physdev_info()
            withUnsafeMutableBytes(of: &info.physindev) { name in
                withUnsafeMutableBytes(of: &info.in_mask) { mask in writeInterface(physdev.inPort ?? "", name, mask) }
            }
            withUnsafeMutableBytes(of: &info.physoutdev) { name in
                withUnsafeMutableBytes(of: &info.out_mask) { mask in writeInterface(physdev.outPort ?? "", name, mask) }
            }
            info.bitmask = PhysdevBits.encode(physdev)
            return ("physdev", 0, rawBytes(of: info))
        case .tcp(let ports):
            var info = xt_tcp()
            (info.spts, info.dpts) = ((ports.sourcePorts.lowerBound, ports.sourcePorts.upperBound),
                                      (ports.destinationPorts.lowerBound, ports.destinationPorts.upperBound))
            return ("tcp", 0, rawBytes(of: info))
        case .udp(let ports):
            var info = xt_udp()
            (info.spts, info.dpts) = ((ports.sourcePorts.lowerBound, ports.sourcePorts.upperBound),
                                      (ports.destinationPorts.lowerBound, ports.destinationPorts.upperBound))
            return ("udp", 0, rawBytes(of: info))
        case .icmp(let type, let codes), .icmp6(let type, let codes):
            var info = ipt_icmp()
            info.type = type
            info.code = (codes.lowerBound, codes.upperBound)
            if case .icmp = match { return ("icmp", 0, rawBytes(of: info)) }
            return ("icmp6", 0, rawBytes(of: info))
        case .state(let states):
            // `-m state` is the conntrack match with the state alias flag.
            var info = xt_conntrack_mtinfo3()
            info.match_flags = UInt16(XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS)
            info.state_mask = states.rawValue
            return ("conntrack", 3, rawBytes(of: info))
        case .set(let set):
            var info = xt_set_info_match_v4()
            info.match_set.index = try sets.index(of: set.name)
            info.match_set.dim = set.portDirection == nil ? 1 : 2
            info.match_set.flags = (set.direction == .source ? SetFlags.source : 0) | (set.portDirection == .source ? SetFlags.secondSource : 0)
                | (set.inverted ? SetFlags.inverted : 0)
            // The kernel reads the port dimension from the bridge port only with
            // this match flag (iptables cannot set it, and iptables-save does not show it).
            info.flags = set.portDirection == nil ? 0 : SetFlags.physdevPorts
            return ("set", 4, rawBytes(of: info))
        case .hopLimitEquals(let value):
            guard family == .ipv6 else { return nil }
            var info = ip6t_hl_info()
            info.mode = UInt8(IP6T_HL_EQ)
            info.hop_limit = value
            return ("hl", 0, rawBytes(of: info))
        case .destinationIsLocal(let inverted):
            var info = xt_addrtype_info_v1()
            info.dest = AddressTypeBits.local
            info.flags = inverted ? AddressTypeBits.invertDestination : 0
            return ("addrtype", 1, rawBytes(of: info))
        }
    }

    /// The match a payload holds (`decode` then checks every byte).
    private static func match(_ name: String, _ bytes: [UInt8], payloadAt at: Int, sets: inout some SetIndexes) -> Match? {
        func load<T>(_ type: T.Type) -> T? {
            at + MemoryLayout<T>.stride <= bytes.count ? bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) } : nil
        }
        switch name {
        case "physdev":
            guard var info = load(xt_physdev_info.self), var physdev = PhysdevBits.decode(info.bitmask) else { return nil }
            physdev.inPort = withUnsafeBytes(of: &info.physindev) { readName($0) }
            physdev.outPort = withUnsafeBytes(of: &info.physoutdev) { readName($0) }
            return .physdev(physdev)
        case "tcp", "udp":
            guard let info = load(xt_udp.self), info.spts.0 <= info.spts.1, info.dpts.0 <= info.dpts.1 else { return nil }
            let ports = PortMatch(sourcePorts: info.spts.0...info.spts.1, destinationPorts: info.dpts.0...info.dpts.1)
            return name == "tcp" ? .tcp(ports) : .udp(ports)
        case "icmp", "icmp6":
            guard let info = load(ipt_icmp.self), info.code.0 <= info.code.1 else { return nil }
            let codes = info.code.0...info.code.1
            return name == "icmp" ? .icmp(type: info.type, codes: codes) : .icmp6(type: info.type, codes: codes)
        case "conntrack":
            let known: ConnectionStates = [.invalid, .established, .related, .new, .untracked]
            guard let info = load(xt_conntrack_mtinfo3.self), info.state_mask & ~known.rawValue == 0 else { return nil }
            return .state(ConnectionStates(rawValue: info.state_mask))
        case "set":
            guard let info = load(xt_set_info_match_v4.self) else { return nil }
            let flags = info.match_set.flags, second = info.match_set.dim == 2
            guard info.match_set.dim == 1 || second, flags & ~(SetFlags.source | SetFlags.secondSource | SetFlags.inverted) == 0,
                  info.flags == (second ? SetFlags.physdevPorts : 0), second || flags & SetFlags.secondSource == 0,
                  let set = sets.name(of: info.match_set.index) else { return nil }
            func direction(_ bit: UInt8) -> SetMatch.Direction { flags & bit != 0 ? .source : .destination }
            return .set(SetMatch(set, direction(SetFlags.source), port: second ? direction(SetFlags.secondSource) : nil,
                                 inverted: flags & SetFlags.inverted != 0))
        case "hl":
            return load(ip6t_hl_info.self).map { .hopLimitEquals($0.hop_limit) }
        case "addrtype":
            guard let info = load(xt_addrtype_info_v1.self), info.dest == AddressTypeBits.local,
                  info.flags == 0 || info.flags == AddressTypeBits.invertDestination else { return nil }
            return .destinationIsLocal(inverted: info.flags != 0)
        default:
            return nil
        }
    }

    // MARK: Targets

    private static func target(_ bytes: [UInt8], at offset: Int, libiptcName: String?) -> Target? {
        let name = bytes.name(offset + 2, length: EntryWriter.nameLength)
        let revision = bytes[offset + 2 + EntryWriter.nameLength]
        switch (name, revision) {
        case ("", _):
            switch libiptcName {
            case "ACCEPT": return .accept
            case "DROP": return .drop
            case "RETURN": return .return
            case nil, "": return nil
            case let chain?: return chain.utf8.count < 32 ? .jump(chain) : nil
            }
        case ("DNAT", 2):
            let payload = offset + EntryWriter.targetHeader
            guard payload + MemoryLayout<nf_nat_range2>.stride <= bytes.count else { return nil }
            let range = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: payload, as: nf_nat_range2.self) }
            return .dnat(IPv4Address(UInt32(bigEndian: range.min_addr.ip)), port: UInt16(bigEndian: range.min_proto.tcp.port))
        case ("CT", 2):
            return .notrack
        default:
            return nil
        }
    }
}
