private import CIPTables
private import Glibc
import SecurityGroupsCore

/// Encodes and decodes kernel entries (`KernelEntry`), resolving set names
/// to the kernel's per-namespace set indexes, each looked up once per run.
struct RuleCodec: KernelEntry.SetIndexes {
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
        guard let entry = try KernelEntry.encode(rule, family: family, sets: &self) else {
            throw NetfilterError(operation: "encode rule", object: IPTablesSaveFormat.line(rule, chain: "<chain>"),
                                 reason: "not expressible as a kernel entry")
        }
        return entry
    }

    /// The rule an entry holds, or `.opaque` when it is not one of ours.
    mutating func decode(_ entry: UnsafeRawPointer, targetName: String?, family: AddressFamily) -> KernelRule {
        KernelEntry.decode(entry, targetName: targetName, family: family, sets: &self).map(KernelRule.known) ?? .opaque
    }

    mutating func index(of name: String) throws(NetfilterError) -> UInt16 {
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

    mutating func name(of index: UInt16) -> String? {
        if let name = names[index] { return name }
        var buffer = [CChar](repeating: 0, count: 32)
        guard sg_ipset_name(index, &buffer) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        names[index] = name
        indexes[name] = index
        return name
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

/// IPSET_INV_MATCH, IPSET_DIM_ONE_SRC, IPSET_DIM_TWO_SRC of xt_set_info.flags.
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
