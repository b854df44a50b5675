public import SecurityGroupsCore
private import Glibc
private import CGlibcExtensions

/// Legacy x_tables through libiptc: one commit per table, under the xtables lock.
struct XtablesStore: IPTablesStore {
    /// How long to wait for the xtables lock.
    var lockTimeout: Double = 60
    /// How often to redo a commit that failed with EAGAIN.
    var commitAttempts = 5

    var setReleaseWait: Double { 0 }
    var runsBesideEbtables: Bool { true }

    func read(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState {
        var codec = RuleCodec()
        return try IPTablesHandle(family: family, table: name).read(codec: &codec, scope: scope)
    }

    func ruleCount(_ name: IPTable.Name, _ family: AddressFamily) throws(NetfilterError) -> Int {
        try IPTablesHandle(family: family, table: name).ruleCount()
    }

    /// Syncs the IPv4 tables here and the IPv6 tables on another thread,
    /// under one hold of the xtables lock. The families' tables are separate
    /// kernel objects, and libip4tc and libip6tc separate libraries with
    /// separate state, so the two run side by side, one on each core.
    /// For the whole host they run one after the other: each family's
    /// libiptc copy of a large table costs a hundred megabytes or more, and
    /// the ebtables batch, longer than both, runs beside them anyway.
    func sync(_ ruleset: inout Ruleset, dryRun: Bool, recordsChanges: Bool) -> TablesSync {
        let lock: FileLock
        do {
            lock = try XtablesLock.take(timeout: lockTimeout)
        } catch {
            return TablesSync(failure: error)
        }
        defer { withExtendedLifetime(lock) {} }
        let scope = ruleset.scope
        let families: [TablesSync]
        if case .host = scope {
            let ipv4 = syncFamily(ruleset.ipv4, family: .ipv4, scope: scope, dryRun: dryRun, recordsChanges: recordsChanges)
            // The IPv4 tables are done: let go of their desired rules and of
            // libip4tc's copy before libip6tc makes its own.
            ruleset.ipv4 = IPTablesFamily()
            sg_malloc_trim()
            families = [ipv4, syncFamily(ruleset.ipv6, family: .ipv6, scope: scope, dryRun: dryRun, recordsChanges: recordsChanges)]
        } else {
            let (desired4, desired6) = (ruleset.ipv4, ruleset.ipv6)
            let ipv6 = BackgroundWork<TablesSync, Never> { self.syncFamily(desired6, family: .ipv6, scope: scope, dryRun: dryRun, recordsChanges: recordsChanges) }
            let ipv4 = syncFamily(desired4, family: .ipv4, scope: scope, dryRun: dryRun, recordsChanges: recordsChanges)
            families = [ipv4, ipv6.finish()]
        }
        var result = TablesSync()
        for family in families {
            result.tables += family.tables
            result.retries += family.retries
            result.timings += family.timings
            result.failure = result.failure ?? family.failure
        }
        return result
    }

    private func syncFamily(_ tables: IPTablesFamily, family: AddressFamily, scope: Scope, dryRun: Bool, recordsChanges: Bool) -> TablesSync {
        var result = TablesSync()
        var clock = PhaseClock()
        for table in tables.tables {
            do {
                let (edits, retries) = try syncTable(table, family: family, scope: scope, dryRun: dryRun)
                let object = family.tableObject(table.name)
                result.add(object, edits, recordsChanges: recordsChanges)
                result.retries += retries
                result.timings.append((object, clock.lap()))
            } catch {
                result.failure = error
                break
            }
        }
        return result
    }

    /// Reads, plans, edits and commits one table (the caller holds the
    /// xtables lock); redoes it all on EAGAIN. Returns the edits made and the retries.
    private func syncTable(_ desired: IPTable, family: AddressFamily, scope: Scope, dryRun: Bool) throws(NetfilterError) -> ([TableEdit], Int) {
        var retries = 0
        while true {
            var codec = RuleCodec()
            let handle = try IPTablesHandle(family: family, table: desired.name)
            let edits = TablePlanner.plan(desired: desired, kernel: handle.read(codec: &codec, scope: scope), scope: scope)
            if edits.isEmpty || dryRun { return (edits, retries) }
            for edit in edits { try handle.apply(edit, codec: &codec) }
            do {
                try handle.commit()
                return (edits, retries)
            } catch where error.errno == EAGAIN && retries + 1 < commitAttempts {
                retries += 1
            }
        }
    }
}
