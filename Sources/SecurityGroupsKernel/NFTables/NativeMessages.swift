public import SecurityGroupsCore

/// Our native tables as nf_tables netlink messages: the expressions nft
/// would make of the same text (`nft --debug=netlink`), so `nft list`
/// shows them as `NativeTable.text` says.
enum NativeMessages {
    typealias Message = NetfilterNetlink.Message
    typealias Expression = NFTablesRules.Expression

    static func family(_ family: NativeTable.Family) -> UInt8 {
        switch family {
        case .ip: NFTablesChains.ipv4
        case .ip6: NFTablesChains.ipv6
        case .bridge: NFTablesChains.bridge
        }
    }

    /// Deletes our table of each family, whether or not it exists (a table
    /// is added first: adding one that exists changes nothing).
    static func removal() -> [Message] {
        NativeTable.Family.allCases.flatMap { family -> [Message] in
            let name = NFTablesMessages.string(1, NativeRuleset.tableName)      // NFTA_TABLE_NAME
            return [(NFTablesMessages.newTable, NFTablesMessages.create, Self.family(family), name, "table \(family.rawValue) \(NativeRuleset.tableName)"),
                    (NFTablesMessages.deleteTable, 0, Self.family(family), name, "table \(family.rawValue) \(NativeRuleset.tableName)")]
        }
    }

    /// A whole table into `batch`: the table, its chains, its sets and
    /// their elements (a map's jumps need the chains), then the rules.
    static func load(_ table: NativeTable, into batch: inout NetfilterBatch) {
        let family = family(table.family)
        batch.append((NFTablesMessages.newTable, NFTablesMessages.create, family,
                      NFTablesMessages.string(1, NativeRuleset.tableName) + NFTablesMessages.u32(2, 0),
                      "table \(table.family.rawValue) \(NativeRuleset.tableName)"))
        batch.append(contentsOf: table.chains.lazy.map { chain($0, family: family) })
        for (index, set) in table.sets.enumerated() {
            batch.append(contentsOf: NativeSetMessages.set(set, id: UInt32(index + 1), family: family))
        }
        var compiler = RuleCompiler(table)
        for chain in table.chains { batch.append(contentsOf: rules(of: chain, in: table, compiler: &compiler)) }
    }

    /// Makes a chain (empty), with its hook if it is a base chain.
    static func chain(_ chain: NativeChain, family: UInt8) -> Message {
        var attributes = NFTablesMessages.string(1, NativeRuleset.tableName) + NFTablesMessages.string(3, chain.name)  // NFTA_CHAIN_TABLE, _NAME
        if let hook = chain.hook {
            // NFTA_CHAIN_TYPE, _POLICY (accept), _HOOK { NUM, PRIORITY }.
            attributes += NFTablesMessages.string(7, hook.type) + NFTablesMessages.u32(5, 1)
                + NFTablesMessages.nested(4, NFTablesMessages.u32(1, hookNumber(hook.point)) + NFTablesMessages.u32(2, UInt32(bitPattern: hook.priority)))
        }
        return (NFTablesMessages.newChain, NFTablesMessages.create, family, attributes, "chain \(chain.name)")
    }

    /// Every rule of the table's chains (those `writes` picks), each appended to its chain.
    static func rules(_ table: NativeTable, writes: (String) -> Bool) -> [Message] {
        var compiler = RuleCompiler(table)
        return table.chains.filter { writes($0.name) }.flatMap { rules(of: $0, in: table, compiler: &compiler) }
    }

    /// One chain's rules, each appended to it.
    private static func rules(of chain: NativeChain, in table: NativeTable, compiler: inout RuleCompiler) -> [Message] {
        let family = family(table.family)
        return chain.rules.enumerated().map { index, rule in
            var attributes = NetlinkAttributes(capacity: 512)
            attributes.string(1, NativeRuleset.tableName)
            attributes.string(2, chain.name)
            NFTablesMessages.append(compiler.expressions(of: rule), to: &attributes)
            return (NFTablesMessages.newRule, NFTablesMessages.create | NFTablesMessages.append, family, attributes.bytes,
                    "rule \(index + 1) of chain \(chain.name) in \(table.family.rawValue) \(NativeRuleset.tableName)")
        }
    }

    /// `NF_INET_*` (the bridge family numbers its hooks the same way).
    private static func hookNumber(_ point: NativeChain.Hook.Point) -> UInt32 {
        switch point {
        case .prerouting: 0
        case .input: 1
        case .forward: 2
        case .output: 3
        case .postrouting: 4
        }
    }
}

/// A rule's statements as expressions, adding the protocol tests nft adds
/// before a transport header is read (`meta l4proto`), once per rule.
struct RuleCompiler {
    typealias Expression = NFTablesRules.Expression

    let family: NativeTable.Family
    /// Sets whose keys are concatenations of ranges: their numbers are kept
    /// in network order, so a lookup converts the mark or priority first.
    let rangeConcatenations: Set<String>
    private var transport: UInt8?

    init(_ table: NativeTable) {
        family = table.family
        rangeConcatenations = Set(table.sets.filter { $0.interval && $0.key.count > 1 }.map(\.name))
    }

    // NFT_META_*, NFT_PAYLOAD_*, NFT_CMP_*, registers.
    private static let (metaPriority, metaMark, metaIIFName, metaOIFName, metaL4Proto): (UInt32, UInt32, UInt32, UInt32, UInt32) = (2, 3, 6, 7, 16)
    private static let (linkHeader, networkHeader, transportHeader): (UInt32, UInt32, UInt32) = (0, 1, 2)
    private static let (equal, notEqual): (UInt32, UInt32) = (0, 1)
    private static let first: UInt32 = 1                                  // NFT_REG_1

    /// One rule's expressions.
    mutating func expressions(of rule: [NativeStatement]) -> [Expression] {
        transport = nil
        return rule.flatMap { expressions($0) }
    }

    private mutating func expressions(_ statement: NativeStatement) -> [Expression] {
        switch statement {
        case .interface(let key, let name, let wildcard):
            let bytes = Array(name.utf8)
            return load(key, into: Self.first) + [.cmp(operation: Self.equal, register: Self.first,
                                                      data: wildcard ? bytes : bytes + [UInt8](repeating: 0, count: max(0, 16 - bytes.count)))]
        case .address(let direction, let network, let inverted):
            let length = network.address.family == .ipv4 ? 4 : 16
            var expressions: [Expression] = [.payload(base: Self.networkHeader, offset: Self.addressOffset(network.address.family, direction),
                                                      length: UInt32(length), register: Self.first)]
            if network.prefixLength < length * 8 {
                expressions.append(.bitwise(source: Self.first, destination: Self.first, mask: PrefixMask.bytes(network.prefixLength, count: length),
                                            xor: [UInt8](repeating: 0, count: length)))
            }
            return expressions + [.cmp(operation: inverted ? Self.notEqual : Self.equal, register: Self.first, data: network.address.networkBytes)]
        case .carrier(let key, let value, let inverted):
            return load(key, into: Self.first) + [.cmp(operation: inverted ? Self.notEqual : Self.equal, register: Self.first, data: Self.host(value))]
        case .transportProtocol(let number):
            transport = number
            return [.meta(key: Self.metaL4Proto, register: Self.first), .cmp(operation: Self.equal, register: Self.first, data: [number])]
        case .ports(let number, let direction, let range):
            return dependency(number) + [.payload(base: Self.transportHeader, offset: direction == .source ? 0 : 2, length: 2, register: Self.first)]
                + compare(Self.network16(range.lowerBound), Self.network16(range.upperBound))
        case .icmpType(let family, let type):
            return dependency(family == .ipv4 ? 1 : 58) + [.payload(base: Self.transportHeader, offset: 0, length: 1, register: Self.first),
                                                            .cmp(operation: Self.equal, register: Self.first, data: [type])]
        case .icmpCode(let family, let codes):
            return dependency(family == .ipv4 ? 1 : 58) + [.payload(base: Self.transportHeader, offset: 1, length: 1, register: Self.first)]
                + compare([codes.lowerBound], [codes.upperBound])
        case .connectionState(let states):
            // NF_CT_STATE_INVALID_BIT, …_BIT(ESTABLISHED), (RELATED), (NEW), NF_CT_STATE_UNTRACKED_BIT.
            let bits: [(ConnectionStates, UInt32)] = [(.invalid, 1), (.established, 2), (.related, 4), (.new, 8), (.untracked, 0x40)]
            let mask = bits.filter { states.contains($0.0) }.reduce(UInt32(0)) { $0 | $1.1 }
            return [.ct(key: 0, register: Self.first),
                    .bitwise(source: Self.first, destination: Self.first, mask: Self.host(mask), xor: Self.host(0)),
                    .cmp(operation: Self.notEqual, register: Self.first, data: Self.host(0))]
        case .lookup(let keys, let set, let inverted):
            return concatenation(keys, networkOrder: rangeConcatenations.contains(set))
                + [.lookup(set: set, register: Self.first, destination: nil, inverted: inverted)]
        case .hopLimit(let limit):
            return [.payload(base: Self.networkHeader, offset: 7, length: 1, register: Self.first), .cmp(operation: Self.equal, register: Self.first, data: [limit])]
        case .destinationIsLocal(let inverted):
            // NFT_FIB_RESULT_ADDRTYPE of NFTA_FIB_F_DADDR; RTN_LOCAL.
            return [.fib(result: 3, flags: 2, register: Self.first), .cmp(operation: inverted ? Self.notEqual : Self.equal, register: Self.first, data: Self.host(2))]
        case .etherType(let type):
            return [.payload(base: Self.linkHeader, offset: 12, length: 2, register: Self.first),
                    .cmp(operation: Self.equal, register: Self.first, data: Self.network16(type))]
        case .etherSource(let mac):
            return [.payload(base: Self.linkHeader, offset: 6, length: 6, register: Self.first), .cmp(operation: Self.equal, register: Self.first, data: mac.octets)]
        case .arpOperation(let operation):
            return [.payload(base: Self.networkHeader, offset: 6, length: 2, register: Self.first),
                    .cmp(operation: Self.equal, register: Self.first, data: Self.network16(operation))]
        case .arpAddress(let direction, let address, let inverted):
            return [.payload(base: Self.networkHeader, offset: direction == .source ? 14 : 24, length: 4, register: Self.first),
                    .cmp(operation: inverted ? Self.notEqual : Self.equal, register: Self.first, data: IPAddress.v4(address).networkBytes)]
        case .arpHardwareAddress(let direction, let mac):
            return [.payload(base: Self.networkHeader, offset: direction == .source ? 8 : 18, length: 6, register: Self.first),
                    .cmp(operation: Self.equal, register: Self.first, data: mac.octets)]
        case .ipProtocol(let number):
            transport = number
            return [.payload(base: Self.networkHeader, offset: 9, length: 1, register: Self.first), .cmp(operation: Self.equal, register: Self.first, data: [number])]
        case .setEtherDestination(let mac):
            return [.immediate(register: Self.first, data: mac.octets), .payloadWrite(base: Self.linkHeader, offset: 0, length: 6, register: Self.first)]
        case .verdictMap(let key, let map):
            return load(key, into: Self.first) + [.lookup(set: map, register: Self.first, destination: 0, inverted: false)]
        case .setCarrier(let carrier, let from, let map):
            return load(from, into: Self.first) + [.lookup(set: map, register: Self.first, destination: Self.first, inverted: false),
                                                   .metaSet(key: carrier == .mark ? Self.metaMark : Self.metaPriority, register: Self.first)]
        case .clearPriority:
            return [.immediate(register: Self.first, data: Self.host(0)), .metaSet(key: Self.metaPriority, register: Self.first)]
        case .verdict(let verdict):
            let constant = NFTablesRules.Constant.self
            return switch verdict {
            case .accept: [.verdict(code: constant.accept, chain: nil)]
            case .drop: [.verdict(code: constant.drop, chain: nil)]
            case .return: [.verdict(code: constant.return, chain: nil)]
            case .jump(let chain): [.verdict(code: constant.jump, chain: chain)]
            }
        case .destinationNAT(let address, let port):
            return [.immediate(register: Self.first, data: IPAddress.v4(address).networkBytes), .immediate(register: 2, data: Self.network16(port)),
                    .destinationNAT(family: 2, addressRegister: Self.first, portRegister: 2)]
        case .notrack:
            return [.notrack]
        }
    }

    /// `meta l4proto N` unless the rule already said it.
    private mutating func dependency(_ number: UInt8) -> [Expression] {
        guard transport != number else { return [] }
        transport = number
        return [.meta(key: Self.metaL4Proto, register: Self.first), .cmp(operation: Self.equal, register: Self.first, data: [number])]
    }

    private func compare(_ low: [UInt8], _ high: [UInt8]) -> [Expression] {
        low == high ? [.cmp(operation: Self.equal, register: Self.first, data: low)]
            : [.range(operation: Self.equal, register: Self.first, from: low, to: high)]
    }

    /// Loads each key into the registers after the last: a concatenation.
    private func concatenation(_ keys: [NativeKey], networkOrder: Bool) -> [Expression] {
        var expressions: [Expression] = []
        var word: UInt32 = 0
        for key in keys {
            // NFT_REG_1 … NFT_REG_4 at each 16 bytes, else NFT_REG32_00 + word:
            // the names the kernel answers with, so a rule reads back as written.
            let register = word % 4 == 0 ? 1 + word / 4 : 8 + word
            expressions += load(key, into: register)
            if networkOrder, key == .mark || key == .priority { expressions.append(.hostToNetwork(register: register, length: 4, size: 4)) }
            word += UInt32(NativeSetMessages.length(key.type) / 4)
        }
        return expressions
    }

    private func load(_ key: NativeKey, into register: UInt32) -> [Expression] {
        switch key {
        case .inInterface: [.meta(key: Self.metaIIFName, register: register)]
        case .outInterface: [.meta(key: Self.metaOIFName, register: register)]
        case .mark: [.meta(key: Self.metaMark, register: register)]
        case .priority: [.meta(key: Self.metaPriority, register: register)]
        case .address(let family, let direction):
            [.payload(base: Self.networkHeader, offset: Self.addressOffset(family, direction), length: family == .ipv4 ? 4 : 16, register: register)]
        }
    }

    private static func addressOffset(_ family: AddressFamily, _ direction: SetMatch.Direction) -> UInt32 {
        switch (family, direction) {
        case (.ipv4, .source): 12
        case (.ipv4, .destination): 16
        case (.ipv6, .source): 8
        case (.ipv6, .destination): 24
        }
    }

    /// A number as the host keeps it (marks, priorities, ct state bits).
    static func host(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    static func network16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
}
