private import CIPTables
private import Glibc
import SecurityGroupsCore

/// One libiptc handle on one table of one family: read it, edit it in
/// memory, commit it once. libip4tc and libip6tc each keep file-static state
/// and no locks, so at most one thread uses each family's handles, under the
/// xtables lock; the two families may run side by side.
final class IPTablesHandle {
    let family: AddressFamily
    let table: IPTable.Name
    private var handle: OpaquePointer?

    /// Opens the table (iptc_init / ip6tc_init).
    init(family: AddressFamily, table: IPTable.Name) throws(NetfilterError) {
        self.family = family
        self.table = table
        guard let handle = sg_table_open(family == .ipv4 ? 4 : 6, table.rawValue) else {
            var error = failure(errno, "open table")
            error.reason += " (are legacy x_tables available on this kernel?)"
            throw error
        }
        self.handle = handle
    }

    deinit { sg_table_free(handle) }

    var objectName: String { family.tableObject(table) }

    /// The error for a libiptc call that just failed with `code`, with
    /// libiptc's message. Callers pass `errno` first, so it is read before
    /// the other arguments are built.
    private func failure(_ code: Int32, _ operation: String, chain: String? = nil) -> NetfilterError {
        let message = LibraryVersions.iptcMessage(errno: code, family: family)
        let object = chain.map { "\(objectName) chain \($0)" } ?? objectName
        return NetfilterError(operation: operation, object: object, reason: message, errno: code)
    }

    /// The table's chains: built-in chains and those `scope` covers read and
    /// decoded, the others only named.
    func read(codec: inout RuleCodec, scope: Scope) -> KernelTableState {
        var chainNames: [String] = []
        var name = sg_table_first_chain(handle)
        while let current = name {
            chainNames.append(String(cString: current))
            name = sg_table_next_chain(handle)
        }
        var chains: [String: [KernelRule]] = [:]
        var otherChains: Set<String> = []
        for chain in chainNames {
            guard table.isBuiltin(chain) || scope.readsChain(chain) else {
                otherChains.insert(chain)
                continue
            }
            var rules: [KernelRule] = []
            var entry = sg_table_first_rule(handle, chain)
            while let current = entry {
                let target = sg_table_rule_target(handle, current).map { String(cString: $0) }
                rules.append(scope.decodesRule(in: chain, target: target) ? codec.decode(current, targetName: target, family: family) : .opaque)
                entry = sg_table_next_rule(handle, current)
            }
            chains[chain] = rules
        }
        return KernelTableState(name: table, chains: chains, otherChains: otherChains)
    }

    /// The number of rules in all chains, without decoding any.
    func ruleCount() -> Int {
        var count = 0
        var name = sg_table_first_chain(handle)
        while let chain = name {
            let chainName = String(cString: chain)
            var entry = sg_table_first_rule(handle, chainName)
            while let current = entry {
                count += 1
                entry = sg_table_next_rule(handle, current)
            }
            name = sg_table_next_chain(handle)
        }
        return count
    }

    /// Makes one edit in memory.
    func apply(_ edit: TableEdit, codec: inout RuleCodec) throws(NetfilterError) {
        switch edit {
        case .createChain(let chain):
            guard sg_table_create_chain(handle, chain) == 0 else { throw failure(errno, "create chain", chain: chain) }
        case .flushChain(let chain):
            guard sg_table_flush_chain(handle, chain) == 0 else { throw failure(errno, "flush chain", chain: chain) }
        case .deleteChain(let chain):
            guard sg_table_delete_chain(handle, chain) == 0 else { throw failure(errno, "delete chain", chain: chain) }
        case .delete(let chain, let index):
            guard sg_table_delete_at(handle, chain, UInt32(index)) == 0 else { throw failure(errno, "delete rule \(index + 1)", chain: chain) }
        case .insert(let chain, let index, let rule):
            let entry = try codec.encode(rule, family: family)
            let result = entry.withUnsafeBytes { sg_table_insert(handle, chain, $0.baseAddress, UInt32(index)) }
            guard result == 0 else { throw failure(errno, "insert rule \(index + 1)", chain: chain) }
        case .append(let chain, let rule):
            let entry = try codec.encode(rule, family: family)
            let result = entry.withUnsafeBytes { sg_table_append(handle, chain, $0.baseAddress) }
            guard result == 0 else { throw failure(errno, "append rule", chain: chain) }
        }
    }

    /// Replaces the table in the kernel in one transaction (iptc_commit).
    /// EAGAIN means someone else changed the table since we read it.
    func commit() throws(NetfilterError) {
        guard sg_table_commit(handle) == 0 else { throw failure(errno, "commit") }
    }
}
