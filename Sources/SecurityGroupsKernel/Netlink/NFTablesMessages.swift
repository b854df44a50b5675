/// nf_tables netlink attributes as the kernel reads them: the writing half
/// of `NFTablesRules` (which reads the same attributes back).
enum NFTablesMessages {
    typealias Expression = NFTablesRules.Expression

    /// Message types: `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*`.
    static let (newTable, newChain, getChain, deleteChain): (UInt16, UInt16, UInt16, UInt16) = (10 << 8 | 0, 10 << 8 | 3, 10 << 8 | 4, 10 << 8 | 5)
    static let (newRule, getRule, deleteRule, getGeneration): (UInt16, UInt16, UInt16, UInt16) = (10 << 8 | 6, 10 << 8 | 7, 10 << 8 | 8, 10 << 8 | 16)
    static let (deleteTable, newSet, deleteSet, newSetElement, deleteSetElement): (UInt16, UInt16, UInt16, UInt16, UInt16)
        = (10 << 8 | 2, 10 << 8 | 9, 10 << 8 | 11, 10 << 8 | 12, 10 << 8 | 14)
    /// `NLM_F_CREATE`, `NLM_F_APPEND`.
    static let (create, append): (UInt16, UInt16) = (0x400, 0x800)

    /// `NFTA_RULE_EXPRESSIONS`: each expression a `NFTA_LIST_ELEM`.
    static func expressions(_ expressions: [Expression]) -> [UInt8] {
        var attributes = NetlinkAttributes(capacity: 64 * expressions.count)
        append(expressions, to: &attributes)
        return attributes.bytes
    }

    static func append(_ expressions: [Expression], to attributes: inout NetlinkAttributes) {
        attributes.nested(4) { list in
            for expression in expressions { element(expression, into: &list) }
        }
    }

    /// One `NFTA_LIST_ELEM`: `NFTA_EXPR_NAME` and `NFTA_EXPR_DATA`.
    static func element(_ expression: Expression) -> [UInt8] {
        var attributes = NetlinkAttributes()
        element(expression, into: &attributes)
        return attributes.bytes
    }

    private static func element(_ expression: Expression, into attributes: inout NetlinkAttributes) {
        attributes.nested(1) { element in
            element.string(1, name(expression))
            element.nested(2) { data(&$0, expression) }
        }
    }

    private static func name(_ expression: Expression) -> String {
        switch expression {
        case .meta, .metaSet: "meta"
        case .cmp: "cmp"
        case .payload, .payloadWrite: "payload"
        case .bitwise: "bitwise"
        case .range: "range"
        case .match: "match"
        case .target: "target"
        case .counter: "counter"
        case .verdict, .immediate: "immediate"
        case .lookup: "lookup"
        case .hostToNetwork: "byteorder"
        case .ct: "ct"
        case .fib: "fib"
        case .destinationNAT: "nat"
        case .notrack: "notrack"
        case .other(let name): name
        }
    }

    private static func data(_ a: inout NetlinkAttributes, _ expression: Expression) {
        switch expression {
        case .meta(let key, let register): a.u32(1, register); a.u32(2, key)
        case .cmp(let operation, let register, let value): a.u32(1, register); a.u32(2, operation); a.data(3, value)
        case .payload(let base, let offset, let length, let register):
            a.u32(1, register); a.u32(2, base); a.u32(3, offset); a.u32(4, length)
        case .bitwise(let source, let destination, let mask, let xor):
            a.u32(1, source); a.u32(2, destination); a.u32(3, UInt32(mask.count)); a.data(4, mask); a.data(5, xor)
        case .range(let operation, let register, let from, let to):
            a.u32(1, register); a.u32(2, operation); a.data(3, from); a.data(4, to)
        case .match(let name, let revision, let info), .target(let name, let revision, let info):
            a.string(1, name); a.u32(2, revision); a.bytes(3, info)
        case .counter:
            a.bytes(1, [UInt8](repeating: 0, count: 8)); a.bytes(2, [UInt8](repeating: 0, count: 8))
        case .verdict(let code, let chain):
            // NFTA_IMMEDIATE_DREG 0 (the verdict register), NFTA_IMMEDIATE_DATA → NFTA_DATA_VERDICT.
            a.u32(1, 0)
            a.nested(2) { data in
                data.nested(2) { verdict in
                    verdict.u32(1, UInt32(bitPattern: code))
                    if let chain { verdict.string(2, chain) }
                }
            }
        case .immediate(let register, let value): a.u32(1, register); a.data(2, value)
        case .lookup(let set, let register, let destination, let inverted):
            a.string(1, set); a.u32(2, register)
            if let destination { a.u32(3, destination) }
            if inverted { a.u32(5, 1) }
        case .hostToNetwork(let register, let length, let size):
            a.u32(1, register); a.u32(2, register); a.u32(3, 1); a.u32(4, length); a.u32(5, size)
        case .ct(let key, let register): a.u32(1, register); a.u32(2, key)
        case .fib(let result, let flags, let register): a.u32(1, register); a.u32(2, result); a.u32(3, flags)
        case .metaSet(let key, let register): a.u32(2, key); a.u32(3, register)
        case .payloadWrite(let base, let offset, let length, let register):
            a.u32(5, register); a.u32(2, base); a.u32(3, offset); a.u32(4, length); a.u32(6, 0); a.u32(7, 0); a.u32(8, 0)
        case .destinationNAT(let family, let addressRegister, let portRegister):
            // NFT_NAT_DNAT; NF_NAT_RANGE_PROTO_SPECIFIED.
            a.u32(1, 1); a.u32(2, family); a.u32(3, addressRegister); a.u32(5, portRegister); a.u32(7, 2)
        case .notrack, .other: break
        }
    }

    // MARK: Attributes (lengths and types little-endian, numbers big-endian as nf_tables wants)

    static func string(_ type: UInt16, _ text: String) -> [UInt8] { NetfilterNetlink.stringAttribute(type, text) }

    static func u32(_ type: UInt16, _ value: UInt32) -> [UInt8] { bytes(type, withUnsafeBytes(of: value.bigEndian) { Array($0) }) }

    static func u64(_ type: UInt16, _ value: UInt64) -> [UInt8] { bytes(type, withUnsafeBytes(of: value.bigEndian) { Array($0) }) }

    /// A nested `NFTA_DATA_VALUE`.
    static func data(_ type: UInt16, _ value: [UInt8]) -> [UInt8] { nested(type, bytes(1, value)) }

    static func nested(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] { bytes(type | 0x8000, payload) }   // NLA_F_NESTED

    static func bytes(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] { NetfilterNetlink.attribute(type, payload) }
}
