public import SecurityGroupsCore

/// Where the iptables tables live, read and brought to a ruleset: legacy
/// x_tables through libiptc (`XtablesStore`), or nf_tables as iptables-nft
/// keeps them (`IPTablesNFTStore`). The applier's sets and ebtables phases
/// are the same on both.
protocol IPTablesStore: Sendable {
    /// One table as `scope` reads it.
    func read(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState

    /// Rules in every chain of the table.
    func ruleCount(_ name: IPTable.Name, _ family: AddressFamily) throws(NetfilterError) -> Int

    /// How long a set may stay referenced by a rule deleted in a committed
    /// sync: nf_tables frees deleted rules (and a compat set match's
    /// reference) in deferred work; libiptc's commit frees them at once.
    var setReleaseWait: Double { get }

    /// Whether ebtables-nft may change nf_tables while the tables are read
    /// and written: not when they are in nf_tables too (each side's
    /// transaction would be refused when the other's lands in between).
    var runsBesideEbtables: Bool { get }

    /// Brings the ruleset's tables (both families) to it, in the scope it
    /// was rendered for, or in a dry run plans only. May empty `ruleset`'s
    /// tables once done with them, to keep the peak memory of a whole host low.
    func sync(_ ruleset: inout Ruleset, dryRun: Bool, recordsChanges: Bool) -> TablesSync
}

/// What the tables did, in order, up to the first failure.
struct TablesSync: Sendable {
    /// One table's share: its edits counted, and listed when changes are recorded.
    struct Table: Sendable {
        var object: String
        var editCount: Int
        var changes: [NetfilterChange]
    }

    var tables: [Table] = []
    /// Commits redone on fresh state after someone else changed the tables.
    var retries = 0
    var timings: [(phase: String, seconds: Double)] = []
    var failure: NetfilterError?

    mutating func add(_ object: String, _ edits: [TableEdit], recordsChanges: Bool) {
        tables.append(Table(object: object, editCount: edits.count, changes: recordsChanges ? edits.map { .iptables(object, $0) } : []))
    }
}

/// nf_tables, holding the tables as iptables-nft does: every table's
/// edits, both families, in one transaction (all or nothing).
struct IPTablesNFTStore: IPTablesStore {
    var setReleaseWait: Double { 2 }
    var runsBesideEbtables: Bool { false }

    func read(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState {
        try IPTablesNFTTable.read(name, family, scope: scope)
    }

    func ruleCount(_ name: IPTable.Name, _ family: AddressFamily) throws(NetfilterError) -> Int {
        try NFTablesRules.list(family: family.nfTablesFamily, table: name.rawValue).count
    }

    func sync(_ ruleset: inout Ruleset, dryRun: Bool, recordsChanges: Bool) -> TablesSync {
        var result = TablesSync()
        do {
            let sync = try IPTablesNFTTable.sync(ruleset, dryRun: dryRun)
            for table in sync.tables { result.add(table.object, table.edits, recordsChanges: recordsChanges) }
            result.retries = sync.retries
            result.timings = sync.timings
        } catch {
            result.failure = error
        }
        return result
    }
}
