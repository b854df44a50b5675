private import CIPTables
import SecurityGroupsCore

/// One entry as it is built: the header of its family, then matches and
/// the target, each padded to the kernel's alignment (XT_ALIGN).
struct EntryWriter {
    static let alignment = MemoryLayout<_xt_align>.alignment
    /// `xt_entry_match` / `xt_entry_target`: size, name, revision.
    static let matchHeader = MemoryLayout<xt_entry_match>.stride
    static let targetHeader = MemoryLayout<xt_entry_target>.stride
    static let nameLength = Int(XT_EXTENSION_MAXNAMELEN)

    let layout: EntryLayout
    private(set) var bytes: [UInt8]

    init(family: AddressFamily) {
        layout = EntryLayout(family)
        bytes = [UInt8](repeating: 0, count: layout.size)
    }

    /// Writes the header; false when the rule's addresses do not fit the family.
    mutating func header(_ rule: IPTablesRule) -> Bool { layout.writeHeader(rule, into: &bytes) }

    mutating func append(name: String, revision: UInt8, payload: [UInt8]) {
        bytes += Self.extension(name: name, revision: revision, payload: payload)
    }

    /// Appends the target and sets the entry's offsets.
    mutating func target(_ target: Target, kernelForm: Bool) {
        let offset = bytes.count
        bytes += targetBytes(target, kernelForm: kernelForm)
        bytes.store(UInt16(offset), at: layout.targetOffset)
        bytes.store(UInt16(bytes.count), at: layout.nextOffset)
    }

    /// In `kernelForm` a standard target reads as libiptc returns it: no
    /// name, the verdict in place (0 for a jump, whose offset we cannot know).
    func targetBytes(_ target: Target, kernelForm: Bool) -> [UInt8] {
        switch target {
        case .dnat(let address, let port):
            var range = nf_nat_range2()
            range.flags = UInt32(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)
            range.min_addr.ip = address.value.bigEndian
            range.max_addr.ip = address.value.bigEndian
            range.min_proto.tcp.port = port.bigEndian
            range.max_proto.tcp.port = port.bigEndian
            return Self.extension(name: "DNAT", revision: 2, payload: rawBytes(of: range))
        case .notrack:
            var info = xt_ct_target_info_v1()
            info.flags = UInt16(XT_CT_NOTRACK)
            return Self.extension(name: "CT", revision: 2, payload: rawBytes(of: info))
        case .accept, .drop, .return, .jump:
            let verdict: Int32 = switch target {
            case .accept: -Int32(NF_ACCEPT) - 1
            case .drop: -Int32(NF_DROP) - 1
            case .return: -Int32(NF_REPEAT) - 1  // XT_RETURN
            default: 0
            }
            let name: String = switch target {
            case .accept: "ACCEPT"
            case .drop: "DROP"
            case .return: "RETURN"
            case .jump(let chain): chain
            default: ""
            }
            var standard = [UInt8](repeating: 0, count: MemoryLayout<xt_standard_target>.stride)
            standard.store(UInt16(standard.count), at: 0)
            if !kernelForm { standard.storeName(name, at: 2, length: Self.nameLength) }
            standard.store(verdict, at: Self.targetHeader)
            return standard
        }
    }

    /// A match or target: its header (size, name, revision), the payload, padding.
    private static func `extension`(name: String, revision: UInt8, payload: [UInt8]) -> [UInt8] {
        let size = (matchHeader + payload.count + alignment - 1) / alignment * alignment
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.store(UInt16(size), at: 0)
        bytes.storeName(name, at: 2, length: nameLength)
        bytes[2 + nameLength] = revision
        bytes.replaceSubrange(matchHeader..<matchHeader + payload.count, with: payload)
        return bytes
    }
}

/// Where `ipt_entry` and `ip6t_entry` keep what our rules set.
struct EntryLayout {
    let family: AddressFamily
    let size: Int
    let targetOffset: Int
    let nextOffset: Int
    /// `ipt_ip` / `ip6t_ip6`: what a rule matches on.
    let ipHeader: Int
    private let addressLength: Int
    private let source, destination, sourceMask, destinationMask: Int
    private let inInterface, outInterface, inMask, outMask: Int
    private let proto, flags, invflags: Int

    init(_ family: AddressFamily) {
        self.family = family
        if family == .ipv4 {
            typealias E = ipt_entry
            (size, addressLength) = (MemoryLayout<E>.stride, 4)
            (targetOffset, nextOffset) = (MemoryLayout<E>.offset(of: \.target_offset)!, MemoryLayout<E>.offset(of: \.next_offset)!)
            ipHeader = MemoryLayout<ipt_ip>.stride
            (source, destination) = (MemoryLayout<E>.offset(of: \.ip.src)!, MemoryLayout<E>.offset(of: \.ip.dst)!)
            (sourceMask, destinationMask) = (MemoryLayout<E>.offset(of: \.ip.smsk)!, MemoryLayout<E>.offset(of: \.ip.dmsk)!)
            (inInterface, outInterface) = (MemoryLayout<E>.offset(of: \.ip.iniface)!, MemoryLayout<E>.offset(of: \.ip.outiface)!)
            (inMask, outMask) = (MemoryLayout<E>.offset(of: \.ip.iniface_mask)!, MemoryLayout<E>.offset(of: \.ip.outiface_mask)!)
            (proto, flags, invflags) = (MemoryLayout<E>.offset(of: \.ip.proto)!, MemoryLayout<E>.offset(of: \.ip.flags)!,
                                        MemoryLayout<E>.offset(of: \.ip.invflags)!)
        } else {
            typealias E = ip6t_entry
            (size, addressLength) = (MemoryLayout<E>.stride, 16)
            (targetOffset, nextOffset) = (MemoryLayout<E>.offset(of: \.target_offset)!, MemoryLayout<E>.offset(of: \.next_offset)!)
            ipHeader = MemoryLayout<ip6t_ip6>.stride
            (source, destination) = (MemoryLayout<E>.offset(of: \.ipv6.src)!, MemoryLayout<E>.offset(of: \.ipv6.dst)!)
            (sourceMask, destinationMask) = (MemoryLayout<E>.offset(of: \.ipv6.smsk)!, MemoryLayout<E>.offset(of: \.ipv6.dmsk)!)
            (inInterface, outInterface) = (MemoryLayout<E>.offset(of: \.ipv6.iniface)!, MemoryLayout<E>.offset(of: \.ipv6.outiface)!)
            (inMask, outMask) = (MemoryLayout<E>.offset(of: \.ipv6.iniface_mask)!, MemoryLayout<E>.offset(of: \.ipv6.outiface_mask)!)
            (proto, flags, invflags) = (MemoryLayout<E>.offset(of: \.ipv6.proto)!, MemoryLayout<E>.offset(of: \.ipv6.flags)!,
                                        MemoryLayout<E>.offset(of: \.ipv6.invflags)!)
        }
    }

    private var sourceInverted: UInt8 { UInt8(family == .ipv4 ? IPT_INV_SRCIP : IP6T_INV_SRCIP) }
    private var destinationInverted: UInt8 { UInt8(family == .ipv4 ? IPT_INV_DSTIP : IP6T_INV_DSTIP) }

    func writeHeader(_ rule: IPTablesRule, into bytes: inout [UInt8]) -> Bool {
        for (network, at, maskAt) in [(rule.source, source, sourceMask), (rule.destination, destination, destinationMask)] {
            guard let network else { continue }
            guard network.address.family == family else { return false }
            let mask = PrefixMask.bytes(network.prefixLength, count: addressLength)
            let address = network.address.networkBytes
            for index in 0..<addressLength {
                bytes[maskAt + index] = mask[index]
                bytes[at + index] = address[index] & mask[index]
            }
        }
        bytes.withUnsafeMutableBytes { raw in
            writeInterface(rule.inInterface ?? "", UnsafeMutableRawBufferPointer(rebasing: raw[inInterface..<inInterface + 16]),
                           UnsafeMutableRawBufferPointer(rebasing: raw[inMask..<inMask + 16]))
            writeInterface(rule.outInterface ?? "", UnsafeMutableRawBufferPointer(rebasing: raw[outInterface..<outInterface + 16]),
                           UnsafeMutableRawBufferPointer(rebasing: raw[outMask..<outMask + 16]))
        }
        bytes.store(UInt16(rule.ipProtocol ?? 0), at: proto)
        // ip6tables only looks at the protocol when this flag says so.
        if family == .ipv6, rule.ipProtocol != nil { bytes[flags] = UInt8(IP6T_F_PROTO) }
        bytes[invflags] = (rule.sourceInverted ? sourceInverted : 0) | (rule.destinationInverted ? destinationInverted : 0)
        return true
    }

    /// Reads what `writeHeader` writes; false for an address mask that is no prefix.
    func readHeader(_ bytes: [UInt8], into rule: inout IPTablesRule) -> Bool {
        for (at, maskAt, isSource) in [(source, sourceMask, true), (destination, destinationMask, false)] {
            guard let length = PrefixMask.length(of: Array(bytes[maskAt..<maskAt + addressLength])) else { return false }
            guard length > 0 else { continue }
            let address = IPAddress(networkBytes: bytes[at..<at + addressLength])
            if isSource { rule.source = IPNetwork(address, prefixLength: length) } else { rule.destination = IPNetwork(address, prefixLength: length) }
        }
        rule.sourceInverted = bytes[invflags] & sourceInverted != 0
        rule.destinationInverted = bytes[invflags] & destinationInverted != 0
        guard !rule.sourceInverted || rule.source != nil, !rule.destinationInverted || rule.destination != nil else { return false }
        rule.inInterface = bytes.name(inInterface, length: 15).nonEmpty
        rule.outInterface = bytes.name(outInterface, length: 15).nonEmpty
        let protocolNumber = bytes.load(proto, as: UInt16.self)
        guard protocolNumber <= 255 else { return false }
        rule.ipProtocol = protocolNumber == 0 ? nil : UInt8(protocolNumber)
        return true
    }
}

/// "NAME" matches that name; "PREFIX+" any name starting with PREFIX: the
/// '+' stays in the name and the mask stops before it, as iptables stores it.
func writeInterface(_ name: String, _ field: UnsafeMutableRawBufferPointer, _ mask: UnsafeMutableRawBufferPointer) {
    let bytes = Array(name.utf8.prefix(field.count - 1))
    field.copyBytes(from: bytes)
    guard !bytes.isEmpty else { return }
    let masked = bytes.last == UInt8(ascii: "+") ? bytes.count - 1 : bytes.count + 1
    for index in 0..<masked { mask[index] = 0xff }
}

func readName(_ bytes: UnsafeRawBufferPointer) -> String? {
    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).nonEmpty
}

func rawBytes<T>(of value: T) -> [UInt8] {
    var value = value
    return withUnsafeBytes(of: &value) { Array($0.prefix(MemoryLayout<T>.stride)) }
}

extension [UInt8] {
    func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    }

    mutating func storeName(_ name: String, at offset: Int, length: Int) {
        let bytes = Array(name.utf8.prefix(length - 1))
        replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    func name(_ offset: Int, length: Int) -> String {
        String(decoding: self[offset..<offset + length].prefix { $0 != 0 }, as: UTF8.self)
    }

    mutating func clearNameTail(_ offset: Int, length: Int) {
        guard let end = self[offset..<offset + length].firstIndex(of: 0) else { return }
        for index in end..<offset + length { self[index] = 0 }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension Target {
    var isJump: Bool { if case .jump = self { true } else { false } }
}
