private import Glibc

/// The rules nf_tables holds, asked over netlink (`NFT_MSG_GETRULE`), each as
/// its list of expressions: what `nft --debug=netlink` prints.
enum NFTablesRules {
    /// One rule: its chain, its handle, its expressions in order.
    struct Rule: Equatable, Sendable {
        var chain: String
        var handle: UInt64
        var expressions: [Expression]
    }

    /// The expressions iptables-nft writes, with what they carry; any other
    /// kind is kept by name only.
    enum Expression: Equatable, Sendable {
        /// `meta load KEY => reg R`.
        case meta(key: UInt32, register: UInt32)
        /// `cmp OP reg R DATA`.
        case cmp(operation: UInt32, register: UInt32, data: [UInt8])
        /// `payload load LENb @ BASE + OFFSET => reg R`.
        case payload(base: UInt32, offset: UInt32, length: UInt32, register: UInt32)
        /// `bitwise reg D = (reg S & MASK) ^ XOR`.
        case bitwise(source: UInt32, destination: UInt32, mask: [UInt8], xor: [UInt8])
        /// `range OP reg R FROM TO`.
        case range(operation: UInt32, register: UInt32, from: [UInt8], to: [UInt8])
        /// A compat xtables match: its name, revision and `xt_*` bytes.
        case match(name: String, revision: UInt32, info: [UInt8])
        /// A compat xtables target.
        case target(name: String, revision: UInt32, info: [UInt8])
        case counter
        /// `immediate reg 0 VERDICT` (and the chain of a jump or goto).
        case verdict(code: Int32, chain: String?)
        /// `immediate reg R DATA`.
        case immediate(register: UInt32, data: [UInt8])
        /// `lookup reg S set NAME [dreg D]`: a map's value to `destination` (0: a verdict map).
        case lookup(set: String, register: UInt32, destination: UInt32?, inverted: Bool)
        /// `byteorder reg R = hton(reg R, SIZE, LENGTH)`.
        case hostToNetwork(register: UInt32, length: UInt32, size: UInt32)
        /// `ct load KEY => reg R`.
        case ct(key: UInt32, register: UInt32)
        /// `fib FLAGS RESULT => reg R`.
        case fib(result: UInt32, flags: UInt32, register: UInt32)
        /// `meta set KEY with reg R`.
        case metaSet(key: UInt32, register: UInt32)
        /// `payload write reg R => LENb @ BASE + OFFSET` (no checksum to fix).
        case payloadWrite(base: UInt32, offset: UInt32, length: UInt32, register: UInt32)
        /// `nat dnat FAMILY addr_min reg A proto_min reg P`.
        case destinationNAT(family: UInt32, addressRegister: UInt32, portRegister: UInt32)
        case notrack
        case other(String)
    }

    /// `NFT_META_*`, `NFT_CMP_*`, `NFT_PAYLOAD_*_HEADER`, `NF_*`/`NFT_*` verdicts used by iptables-nft.
    enum Constant {
        static let (metaIIFName, metaOIFName, metaL4Proto): (UInt32, UInt32, UInt32) = (6, 7, 16)
        static let (equal, notEqual, lessOrEqual, greaterOrEqual): (UInt32, UInt32, UInt32, UInt32) = (0, 1, 3, 5)
        static let (networkHeader, transportHeader): (UInt32, UInt32) = (1, 2)
        static let (drop, accept, jump, `return`): (Int32, Int32, Int32, Int32) = (0, 1, -3, -5)
    }

    /// The rule set's generation (`NFT_MSG_GETGEN`): read before the state a
    /// transaction is planned on, it lets the kernel refuse the transaction
    /// if anything changed meanwhile.
    static func generation() throws(NetfilterError) -> UInt32 {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        try socket.send(type: NFTablesMessages.getGeneration, flags: NetfilterNetlink.request | NetfilterNetlink.acknowledge,
                        family: 0, attributes: [])
        var generation: UInt32 = 0
        try socket.receive { _, attributes in
            NetfilterNetlink.forEachAttribute(attributes) { type, payload in
                if type == 1 { generation = UInt32(truncatingIfNeeded: bigEndian(payload)) }   // NFTA_GEN_ID
            }
        }
        return generation
    }

    /// Every rule of `table` in `family` (`NFTablesChains.ipv4`, …), or of
    /// its `chain` only, in chain order; empty when there is no such table
    /// or chain. Given a chain, the kernel looks it up and dumps it alone;
    /// a whole table's dump costs the kernel more than linear time (each
    /// answer walks the table again up to where the last one stopped).
    static func list(family: UInt8, table: String, chain: String? = nil) throws(NetfilterError) -> [Rule] {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        try socket.send(type: NFTablesMessages.getRule, flags: NetfilterNetlink.request | NetfilterNetlink.dump, family: family,
                        attributes: NetfilterNetlink.stringAttribute(1, table)                                   // NFTA_RULE_TABLE
                            + (chain.map { NetfilterNetlink.stringAttribute(2, $0) } ?? []))                     // NFTA_RULE_CHAIN
        var rules: [Rule] = []
        do {
            try socket.receive { _, attributes in
                var rule = Rule(chain: "", handle: 0, expressions: [])
                NetfilterNetlink.forEachAttribute(attributes) { type, payload in
                    switch type {
                    case 2: rule.chain = NetfilterNetlink.string(payload)                    // NFTA_RULE_CHAIN
                    case 3: rule.handle = bigEndian(payload)                                   // NFTA_RULE_HANDLE
                    case 4: NetfilterNetlink.forEachAttribute(payload) { _, element in rule.expressions.append(expression(element)) }  // NFTA_RULE_EXPRESSIONS
                    default: break
                    }
                }
                rules.append(rule)
            }
        } catch where [ENOENT, EOPNOTSUPP, EPROTONOSUPPORT].contains(error.errno ?? 0) {
            return []
        }
        return rules
    }

    /// One `NFTA_LIST_ELEM`'s payload: `NFTA_EXPR_NAME` and `NFTA_EXPR_DATA`.
    static func expression(_ element: ArraySlice<UInt8>) -> Expression {
        var name: ArraySlice<UInt8> = []
        // The expression's attributes by number (1...5 is all the kinds read here use).
        var data = (ArraySlice<UInt8>?.none, ArraySlice<UInt8>?.none, ArraySlice<UInt8>?.none, ArraySlice<UInt8>?.none,
                    ArraySlice<UInt8>?.none)
        NetfilterNetlink.forEachAttribute(element) { type, payload in
            if type == 1 { name = payload }
            if type == 2 {
                NetfilterNetlink.forEachAttribute(payload) { key, value in
                    switch key {
                    case 1: data.0 = value
                    case 2: data.1 = value
                    case 3: data.2 = value
                    case 4: data.3 = value
                    case 5: data.4 = value
                    default: break
                    }
                }
            }
        }
        func attribute(_ key: UInt16) -> ArraySlice<UInt8>? {
            switch key {
            case 1: data.0
            case 2: data.1
            case 3: data.2
            case 4: data.3
            case 5: data.4
            default: nil
            }
        }
        func u32(_ key: UInt16) -> UInt32 { attribute(key).map { UInt32(truncatingIfNeeded: bigEndian($0)) } ?? 0 }
        /// `NFTA_DATA_VALUE` inside a nested data attribute.
        func value(_ key: UInt16) -> [UInt8] {
            guard let nested = attribute(key) else { return [] }
            var found: [UInt8] = []
            NetfilterNetlink.forEachAttribute(nested) { type, payload in if type == 1 { found = Array(payload) } }
            return found
        }
        let kind = NetfilterNetlink.string(name)
        switch kind {
        case "meta": return attribute(3) != nil ? .metaSet(key: u32(2), register: u32(3)) : .meta(key: u32(2), register: u32(1))
        case "cmp": return .cmp(operation: u32(2), register: u32(1), data: value(3))
        case "payload":
            return attribute(5) != nil ? .payloadWrite(base: u32(2), offset: u32(3), length: u32(4), register: u32(5))
                : .payload(base: u32(2), offset: u32(3), length: u32(4), register: u32(1))
        case "ct": return .ct(key: u32(2), register: u32(1))
        case "fib": return .fib(result: u32(2), flags: u32(3), register: u32(1))
        case "byteorder" where u32(3) == 1: return .hostToNetwork(register: u32(1), length: u32(4), size: u32(5))
        case "nat" where u32(1) == 1: return .destinationNAT(family: u32(2), addressRegister: u32(3), portRegister: u32(5))
        case "notrack": return .notrack
        case "bitwise": return .bitwise(source: u32(1), destination: u32(2), mask: value(4), xor: value(5))
        case "range": return .range(operation: u32(2), register: u32(1), from: value(3), to: value(4))
        case "match": return .match(name: attribute(1).map(NetfilterNetlink.string) ?? "", revision: u32(2), info: attribute(3).map(Array.init) ?? [])
        case "target": return .target(name: attribute(1).map(NetfilterNetlink.string) ?? "", revision: u32(2), info: attribute(3).map(Array.init) ?? [])
        case "counter": return .counter
        case "lookup":
            return .lookup(set: attribute(1).map(NetfilterNetlink.string) ?? "", register: u32(2), destination: attribute(3).map { _ in u32(3) },
                           inverted: u32(5) & 1 != 0)
        case "immediate" where u32(1) != 0:
            return .immediate(register: u32(1), data: value(2))
        case "immediate":
            // NFTA_IMMEDIATE_DATA → NFTA_DATA_VERDICT → NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN.
            guard u32(1) == 0, let immediate = attribute(2) else { return .other(kind) }
            var code: Int32?, chain: String?
            NetfilterNetlink.forEachAttribute(immediate) { type, verdict in
                guard type == 2 else { return }                                                       // NFTA_DATA_VERDICT
                NetfilterNetlink.forEachAttribute(verdict) { type, payload in
                    if type == 1 { code = Int32(bitPattern: UInt32(truncatingIfNeeded: bigEndian(payload))) }
                    if type == 2 { chain = NetfilterNetlink.string(payload) }
                }
            }
            return code.map { .verdict(code: $0, chain: chain) } ?? .other(kind)
        default: return .other(kind)
        }
    }

    /// A big-endian integer attribute (nf_tables sends its numbers so).
    private static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
