private import CNFTables
private import Glibc
public import SecurityGroupsCore

/// The `native` layout's tables: written over our own netlink (no text for
/// nft to parse, no cache of the kernel's rule set to fetch first), listed
/// through libnftables (in this process, loaded when first used).
public enum NativeTables {
    /// Replaces our tables with `ruleset`'s, or removes them (nil), in one
    /// transaction: its messages written into the datagram as they are
    /// made, each table let go of once written.
    public static func replace(with ruleset: consuming NativeRuleset?) throws(NetfilterError) {
        var tables = Array((consume ruleset)?.tables.reversed() ?? [])
        let socket = try NetfilterNetlink(subject: "nf_tables")
        try socket.transact { batch in
            batch.append(contentsOf: NativeMessages.removal())
            while let table = tables.popLast() { NativeMessages.load(table, into: &batch) }
        }
    }

    /// Asks our tables by name and by key (`NativeQuery`).
    public static func answer(_ query: NativeQuery) throws(NetfilterError) -> NativeAnswer {
        let reads = try NativeReads()
        var answer = NativeAnswer()
        for member in query.members {
            answer.members.append(try reads.element(family: NativeMessages.family(member.table), set: member.set,
                                                    key: member.address.networkBytes) != nil)
        }
        for key in query.mapKeys {
            let bytes: [UInt8] = switch key.key {
            case .interface(let name): NativeVMSync.interfaceKey(name)
            case .number(let number): RuleCompiler.host(number)
            default: []
            }
            let value = try reads.element(family: NativeMessages.family(key.table), set: key.map, key: bytes)
            answer.mapValues.append(value.map(Self.value))
        }
        for chain in query.chains {
            let family = NativeMessages.family(chain.table)
            let found = try NFTablesChains.existing([chain.name], family: family, table: NativeRuleset.tableName)
            answer.chains.append(found.isEmpty ? nil : try NFTablesRules.list(family: family, table: NativeRuleset.tableName, chain: chain.name).count)
        }
        return answer
    }

    /// The ports the bridge table's PREROUTING map sends into one of `chains`.
    static func ports(entering chains: Set<String>) throws(NetfilterError) -> Set<String> {
        let elements = try NativeReads().elements(family: NFTablesChains.bridge, set: "PREROUTING-ports") ?? []
        return Set(elements.compactMap { element in
            guard case .jump(let chain) = element.data.map(value), chains.contains(chain) else { return nil }
            return String(decoding: element.key.prefix { $0 != 0 }, as: UTF8.self)
        })
    }

    /// A map's value as the kernel answers it: an id (4 bytes) or a verdict
    /// (`NFTA_VERDICT_CODE`, `NFTA_VERDICT_CHAIN`).
    private static func value(_ bytes: [UInt8]) -> NativeValue {
        var chain: String?
        NetfilterNetlink.forEachAttribute(bytes[...]) { type, payload in if type == 2 { chain = NetfilterNetlink.string(payload) } }
        if let chain { return .jump(chain) }
        return .number(bytes.count == 4 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0)
    }

    /// `nft list table` of each of our tables that exists.
    public static func listing() throws(NetfilterError) -> String {
        var text = ""
        for (family, number) in zip(NativeRuleset.families, [NFTablesChains.ipv4, NFTablesChains.ipv6, NFTablesChains.bridge]) {
            // Asked over netlink: nft's `list tables` reads the whole rule
            // set into its cache first (36 s and 1 GB beside a 5,000-VM host).
            guard try NFTablesChains.list(family: number).contains(where: { $0.table == NativeRuleset.tableName }) else { continue }
            text += try query("list table \(family) \(NativeRuleset.tableName)", operation: "nft list")
        }
        return text
    }

    private static func query(_ command: String, operation: String) throws(NetfilterError) -> String {
        var output: UnsafeMutablePointer<CChar>?
        var error: UnsafeMutablePointer<CChar>?
        defer {
            free(output)
            free(error)
        }
        guard sg_nft_query(command, &output, &error) == 0 else {
            throw NetfilterError(operation: operation, object: "nf_tables \(NativeRuleset.tableName)", reason: message(error))
        }
        return output.map { String(cString: $0) } ?? ""
    }

    /// nft's message on one line (it points at the failing text on the next ones).
    private static func message(_ error: UnsafeMutablePointer<CChar>?) -> String {
        let text = error.map { String(cString: $0) } ?? ""
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.allSatisfy { $0 == "^" || $0 == "~" } }
        return lines.isEmpty ? "libnftables failed without a message" : lines.joined(separator: " | ")
    }
}
