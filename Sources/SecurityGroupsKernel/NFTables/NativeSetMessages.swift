import SecurityGroupsCore

/// A native set or map and its elements as nf_tables messages, encoded as
/// nft encodes them: an interval set of one field keeps ranges as a start
/// and an end-plus-one marked as an end (rbtree); a concatenation of ranges
/// keeps each element's first and last key (pipapo), numbers in network
/// order; other sets their keys as the host keeps them.
enum NativeSetMessages {
    typealias Message = NetfilterNetlink.Message
    private typealias M = NFTablesMessages

    // NFT_SET_INTERVAL, _MAP, _CONCAT; NFT_SET_ELEM_INTERVAL_END; NFT_DATA_VERDICT.
    private static let (interval, map, concatenation): (UInt32, UInt32, UInt32) = (0x4, 0x8, 0x80)
    private static let intervalEnd: UInt32 = 1
    private static let verdictData: UInt32 = 0xffff_ff00
    /// Elements per message stay under a netlink attribute's 64 KB.
    private static let elementBytes = 60_000

    /// The set's definition, then its elements.
    static func set(_ set: NativeSet, id: UInt32, family: UInt8) -> [Message] {
        [definition(set, id: id, family: family)] + elements(set, id: id, family: family)
    }

    static func definition(_ set: NativeSet, id: UInt32, family: UInt8) -> Message {
        let concatenated = set.key.count > 1
        var flags: UInt32 = set.data == nil ? 0 : map
        if set.interval { flags |= interval | (concatenated ? concatenation : 0) }
        let keyType = set.key.reduce(UInt32(0)) { $0 << 6 | typeNumber($1) }            // nft's concatenated type ids
        var attributes = M.string(1, NativeRuleset.tableName) + M.string(2, set.name) + M.u32(3, flags) + M.u32(4, keyType)
            + M.u32(5, UInt32(set.key.map(length).reduce(0, +)))
        switch set.data {
        case .value(let type): attributes += M.u32(6, typeNumber(type)) + M.u32(7, UInt32(length(type)))
        case .verdict: attributes += M.u32(6, verdictData) + M.u32(7, 0)
        case nil: break
        }
        attributes += M.u32(10, id)
        if concatenated, set.interval {
            // NFTA_SET_DESC { NFTA_SET_DESC_CONCAT { NFTA_LIST_ELEM { NFTA_SET_FIELD_LEN } … } }
            attributes += M.nested(9, M.nested(2, set.key.flatMap { M.nested(1, M.u32(1, UInt32(length($0)))) }))
        }
        attributes += M.bytes(13, userData(set, concatenated: concatenated))
        return (M.newSet, M.create, family, attributes, "set \(set.name)")
    }

    /// The set's elements, in messages of at most `elementBytes`.
    static func elements(_ set: NativeSet, id: UInt32, family: UInt8) -> [Message] {
        let concatenated = set.key.count > 1
        let encoded = concatenated || !set.interval ? set.elements.map { element($0, set, concatenated: concatenated) } : ranges(set)
        return batches(encoded, type: M.newSetElement, set: set.name, id: id, family: family)
    }

    /// Deletes elements by their keys (`keys`: each key and, in a
    /// concatenation of ranges, its last key).
    static func deletion(set: String, keys: [(key: [UInt8], last: [UInt8]?)], family: UInt8) -> [Message] {
        let encoded = keys.map { key in M.nested(1, M.data(1, key.key) + (key.last.map { M.data(10, $0) } ?? [])) }
        return batches(encoded, type: M.deleteSetElement, set: set, id: nil, family: family)
    }

    private static func batches(_ encoded: [[UInt8]], type: UInt16, set: String, id: UInt32?, family: UInt8) -> [Message] {
        var messages: [Message] = []
        var batch: [UInt8] = []
        func flush() {
            guard !batch.isEmpty else { return }
            messages.append((type, type == M.newSetElement ? M.create : 0, family,
                             M.string(1, NativeRuleset.tableName) + M.string(2, set) + (id.map { M.u32(4, $0) } ?? []) + M.nested(3, batch),
                             "\(type == M.newSetElement ? "elements" : "deleted elements") of \(set)"))
            batch = []
        }
        for element in encoded {
            if batch.count + element.count > elementBytes { flush() }
            batch += element
        }
        flush()
        return messages
    }

    /// An element's key bytes, its last key (in a concatenation of
    /// ranges), and a map's value, as the kernel keeps them.
    static func keys(_ element: NativeElement, _ set: NativeSet) -> (key: [UInt8], last: [UInt8]?, data: [UInt8]?) {
        let concatenated = set.key.count > 1
        var first: [UInt8] = []
        var last: [UInt8] = []
        for (value, type) in zip(element.key, set.key) {
            let (low, high) = bytes(value, type, networkOrder: concatenated && set.interval)
            first += low
            last += high
        }
        let data: [UInt8]? = element.data.map { value in
            // A verdict as the kernel answers it: NFTA_VERDICT_CODE, _CHAIN.
            if case .jump(let chain) = value { return M.u32(1, UInt32(bitPattern: NFTablesRules.Constant.jump)) + M.string(2, chain) }
            let type: NativeType = if case .value(let type) = set.data { type } else { .mark }
            return bytes(value, type, networkOrder: false).low
        }
        return (first, concatenated && set.interval ? last : nil, data)
    }

    /// One `NFTA_LIST_ELEM`: its key (and last key, in a concatenation of
    /// ranges), and a map's value.
    private static func element(_ element: NativeElement, _ set: NativeSet, concatenated: Bool) -> [UInt8] {
        let (key, last, value) = keys(element, set)
        var attributes = M.data(1, key)
        if let last { attributes += M.data(10, last) }
        if case .jump(let chain) = element.data {
            attributes += M.nested(2, M.nested(2, M.u32(1, UInt32(bitPattern: NFTablesRules.Constant.jump)) + M.string(2, chain)))
        } else if let value {
            attributes += M.data(2, value)
        }
        return M.nested(1, attributes)
    }

    /// A one-field interval set: the members merged into ranges (as
    /// `auto-merge` does), each a start and an end-plus-one; a gap before
    /// the first is marked by an end at zero, as nft marks it.
    private static func ranges(_ set: NativeSet) -> [[UInt8]] {
        let spans = set.elements.compactMap { element -> ([UInt8], [UInt8])? in
            guard let value = element.key.first else { return nil }
            return bytes(value, set.key[0], networkOrder: true)
        }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        var merged: [([UInt8], [UInt8])] = []
        for span in spans {
            // Overlapping or adjacent (the start at most the last end + 1): one range.
            if let last = merged.last, increment(last.1).map({ !$0.lexicographicallyPrecedes(span.0) }) ?? true {
                if last.1.lexicographicallyPrecedes(span.1) { merged[merged.count - 1].1 = span.1 }
            } else {
                merged.append(span)
            }
        }
        var elements: [[UInt8]] = []
        if let first = merged.first, first.0.contains(where: { $0 != 0 }) {
            elements.append(M.nested(1, M.data(1, [UInt8](repeating: 0, count: first.0.count)) + M.u32(3, intervalEnd)))
        }
        for (start, end) in merged {
            elements.append(M.nested(1, M.data(1, start)))
            if let next = increment(end) { elements.append(M.nested(1, M.data(1, next) + M.u32(3, intervalEnd))) }
        }
        return elements
    }

    /// A value's first and last key bytes (a prefix spans a range).
    private static func bytes(_ value: NativeValue, _ type: NativeType, networkOrder: Bool) -> (low: [UInt8], high: [UInt8]) {
        switch value {
        case .interface(let name):
            let bytes = Array(name.utf8.prefix(15)) + [UInt8](repeating: 0, count: 16 - min(15, name.utf8.count))
            return (bytes, bytes)
        case .number(let number):
            let bytes = networkOrder ? withUnsafeBytes(of: number.bigEndian) { Array($0) } : RuleCompiler.host(number)
            return (bytes, bytes)
        case .network(let network):
            let low = network.address.networkBytes
            let mask = PrefixMask.bytes(network.prefixLength, count: low.count)
            return (low, zip(low, mask).map { $0 | ~$1 })
        case .jump:
            return ([], [])
        }
    }

    /// The next key in network order; nil past the last.
    private static func increment(_ bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0xff {
                result[index] = 0
            } else {
                result[index] += 1
                return result
            }
        }
        return nil
    }

    /// nft's own notes on the set (`NFTNL_UDATA_SET_*`), read when it lists
    /// it: the key's and value's byte order, and `auto-merge`.
    private static func userData(_ set: NativeSet, concatenated: Bool) -> [UInt8] {
        func entry(_ type: UInt8, _ value: UInt32) -> [UInt8] { [type, 4] + RuleCompiler.host(value) }
        // BYTEORDER_HOST_ENDIAN 1, BYTEORDER_BIG_ENDIAN 2.
        let keyOrder: UInt32 = concatenated ? 0 : set.key.first.map(isAddress) == true ? 2 : 1
        var data = entry(0, keyOrder)
        if case .value = set.data { data += entry(1, 1) } else if set.data != nil { data += entry(1, 0) }
        if set.autoMerge { data += entry(2, 1) }
        return data
    }

    private static func isAddress(_ type: NativeType) -> Bool { type == .ipv4Address || type == .ipv6Address }

    /// nft's datatype numbers (`TYPE_*`).
    private static func typeNumber(_ type: NativeType) -> UInt32 {
        switch type {
        case .interfaceName: 41
        case .mark: 19
        case .classID: 23
        case .ipv4Address: 7
        case .ipv6Address: 8
        }
    }

    static func length(_ type: NativeType) -> Int {
        switch type {
        case .interfaceName, .ipv6Address: 16
        case .mark, .classID, .ipv4Address: 4
        }
    }
}
