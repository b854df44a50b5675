/// nf_tables netlink attributes as the kernel reads them: the writing half
/// of `NFTablesRules` (which reads the same attributes back).
enum NFTablesMessages {
    typealias Expression = NFTablesRules.Expression

    /// Message types: `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*`.
    static let (newTable, newChain, getChain, deleteChain): (UInt16, UInt16, UInt16, UInt16) = (10 << 8 | 0, 10 << 8 | 3, 10 << 8 | 4, 10 << 8 | 5)
    static let (newRule, getRule, deleteRule, getGeneration): (UInt16, UInt16, UInt16, UInt16) = (10 << 8 | 6, 10 << 8 | 7, 10 << 8 | 8, 10 << 8 | 16)
    static let (deleteTable, newSet, newSetElement): (UInt16, UInt16, UInt16) = (10 << 8 | 2, 10 << 8 | 9, 10 << 8 | 12)
    /// `NLM_F_CREATE`, `NLM_F_APPEND`.
    static let (create, append): (UInt16, UInt16) = (0x400, 0x800)

    /// `NFTA_RULE_EXPRESSIONS`: each expression a `NFTA_LIST_ELEM`.
    static func expressions(_ expressions: [Expression]) -> [UInt8] {
        nested(4, expressions.flatMap(element))
    }

    /// One `NFTA_LIST_ELEM`: `NFTA_EXPR_NAME` and `NFTA_EXPR_DATA`.
    static func element(_ expression: Expression) -> [UInt8] {
        let (name, data): (String, [UInt8]) = switch expression {
        case .meta(let key, let register): ("meta", u32(1, register) + u32(2, key))
        case .cmp(let operation, let register, let value): ("cmp", u32(1, register) + u32(2, operation) + data(3, value))
        case .payload(let base, let offset, let length, let register):
            ("payload", u32(1, register) + u32(2, base) + u32(3, offset) + u32(4, length))
        case .bitwise(let source, let destination, let mask, let xor):
            ("bitwise", u32(1, source) + u32(2, destination) + u32(3, UInt32(mask.count)) + data(4, mask) + data(5, xor))
        case .range(let operation, let register, let from, let to):
            ("range", u32(1, register) + u32(2, operation) + data(3, from) + data(4, to))
        case .match(let name, let revision, let info): ("match", string(1, name) + u32(2, revision) + bytes(3, info))
        case .target(let name, let revision, let info): ("target", string(1, name) + u32(2, revision) + bytes(3, info))
        case .counter: ("counter", u64(1, 0) + u64(2, 0))
        case .verdict(let code, let chain):
            // NFTA_IMMEDIATE_DREG 0 (the verdict register), NFTA_IMMEDIATE_DATA → NFTA_DATA_VERDICT.
            ("immediate", u32(1, 0) + nested(2, nested(2, u32(1, UInt32(bitPattern: code)) + (chain.map { string(2, $0) } ?? []))))
        case .immediate(let register, let value): ("immediate", u32(1, register) + data(2, value))
        case .lookup(let set, let register, let destination, let inverted):
            ("lookup", string(1, set) + u32(2, register) + (destination.map { u32(3, $0) } ?? []) + (inverted ? u32(5, 1) : []))
        case .hostToNetwork(let register, let length, let size):
            ("byteorder", u32(1, register) + u32(2, register) + u32(3, 1) + u32(4, length) + u32(5, size))
        case .ct(let key, let register): ("ct", u32(1, register) + u32(2, key))
        case .fib(let result, let flags, let register): ("fib", u32(1, register) + u32(2, result) + u32(3, flags))
        case .metaSet(let key, let register): ("meta", u32(2, key) + u32(3, register))
        case .payloadWrite(let base, let offset, let length, let register):
            ("payload", u32(5, register) + u32(2, base) + u32(3, offset) + u32(4, length) + u32(6, 0) + u32(7, 0) + u32(8, 0))
        case .destinationNAT(let family, let addressRegister, let portRegister):
            // NFT_NAT_DNAT; NF_NAT_RANGE_PROTO_SPECIFIED.
            ("nat", u32(1, 1) + u32(2, family) + u32(3, addressRegister) + u32(5, portRegister) + u32(7, 2))
        case .notrack: ("notrack", [])
        case .other(let name): (name, [])
        }
        return nested(1, string(1, name) + nested(2, data))
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
