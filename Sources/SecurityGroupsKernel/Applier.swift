public import SecurityGroupsCore

/// What one apply did (or, in a dry run, would do).
public struct ApplyReport: Sendable {
    /// Tables committed, e.g. `iptables filter`, in commit order.
    public var committedTables: [String] = []
    /// Every change in the order made: ipset and ebtables in their restore
    /// syntax, iptables edits as `-A`/`-I`/`-D`/`-N`/`-F`/`-X` lines. Empty
    /// when the applier was told not to record them (a whole host's
    /// changes take tens of megabytes).
    public var changes: [NetfilterChange] = []
    /// The number of changes, recorded or not.
    public var changeCount = 0
    fileprivate var recordsChanges = true
    /// Table commits redone on fresh state because someone changed the
    /// tables between our read and our commit (libiptc's EAGAIN, nf_tables'
    /// ERESTART).
    public var retriedCommits = 0
    /// Wall-clock seconds per phase, in order.
    public var timings: [(phase: String, seconds: Double)] = []
    /// What went wrong without undoing the apply (conntrack clean-up).
    public var warnings: [String] = []

    public var isEmpty: Bool { changeCount == 0 }

    public init() {}

    /// The changes as text, each table's under a `*table` header.
    public var lines: [String] { NetfilterChange.text(changes) }

    /// Counts `count` changes, and records them when asked to.
    fileprivate mutating func add(count: Int, _ made: () -> [NetfilterChange]) {
        changeCount += count
        if recordsChanges { changes += made() }
    }
}

/// A failure part-way through an apply: what failed, and what had been
/// applied before it. Each table is either as before or as after.
public struct ApplyError: Error, CustomStringConvertible, Sendable {
    public var failure: NetfilterError
    public var applied: [String]

    public init(failure: NetfilterError, applied: [String] = []) {
        self.failure = failure
        self.applied = applied
    }

    public var description: String {
        "\(failure)" + (applied.isEmpty ? "; nothing was changed" : "; already applied: \(applied.joined(separator: ", "))")
    }
}

/// Brings the kernel to a desired ruleset, touching only what is ours, in
/// this order: create and fill sets; commit filter, nat and raw for IPv4
/// and IPv6, one transaction each and only where something changes; remove
/// set members and sets no longer referenced. The ebtables batch, which
/// shares nothing with them, is applied meanwhile.
///
/// Like Calico Felix's table syncer, it keeps no memory between runs: it
/// reads what the kernel has every time, so a re-run after any failure
/// converges.
public struct Applier: Sendable {
    /// Where the iptables tables live.
    let tables: any IPTablesStore
    /// Whether the report lists every change, or only counts them.
    public var recordsChanges: Bool

    init(tables: any IPTablesStore, recordsChanges: Bool = true) {
        self.tables = tables
        self.recordsChanges = recordsChanges
    }

    /// Applies the ruleset `render` returns, in the scope it was rendered
    /// for. ebtables shares no object with the sets and tables and its
    /// tools are slow on a large table, so its read, plan and batch run
    /// beside them, on another thread (after them when the tables are in
    /// nf_tables too). With `ebtables` false the ebtables
    /// phase is skipped: for a caller that knows nothing of the VM's
    /// ebtables state changed (a rules update).
    public func apply(dryRun: Bool = false, ebtables: Bool = true, render: () throws -> Ruleset) throws(ApplyError) -> ApplyReport {
        var report = ApplyReport()
        report.recordsChanges = recordsChanges
        var applied: [String] = []
        var clock = PhaseClock()
        func step<T>(_ body: () throws -> T) throws(ApplyError) -> T { try Self.step(applied: applied, body) }

        var ruleset = try step { try render() }
        let scope = ruleset.scope
        report.timings.append(("render", clock.lap()))
        // ebtables-nft commits nf_tables transactions (even to list a chain):
        // beside our own nf_tables transaction one of the two would be
        // refused for a stale generation, so there it runs after the tables.
        let beside = tables.runsBesideEbtables
        let desiredEbtables = ruleset.ebtables
        var ebtablesSync = ebtables && beside ? syncEbtables(desiredEbtables, scope: scope, dryRun: dryRun) : nil
        do throws(ApplyError) {
            try applySetsAndTables(&ruleset, scope: scope, dryRun: dryRun, report: &report, applied: &applied, clock: &clock)
        } catch {
            var error = error
            if let outcome = try? ebtablesSync?.finish(), outcome.applied { error.applied.append("ebtables nat") }
            throw error
        }
        if ebtables && !beside { ebtablesSync = syncEbtables(desiredEbtables, scope: scope, dryRun: dryRun) }
        guard let ebtablesSync else { return report }
        let outcome = try step { try ebtablesSync.finish() }
        report.timings.append(("ebtables wait", clock.lap()))
        report.timings += outcome.timings
        if outcome.lineCount > 0 {
            report.add(count: outcome.lineCount) { outcome.lines.map { .batchLine("ebtables nat", $0) } }
        }
        return report
    }

    /// Runs one step; a failure becomes an ApplyError naming what was applied.
    private static func step<T>(applied: [String], _ body: () throws -> T) throws(ApplyError) -> T {
        do {
            return try body()
        } catch let error as NetfilterError {
            throw ApplyError(failure: error, applied: applied)
        } catch {
            throw ApplyError(failure: NetfilterError(operation: "apply", object: "", reason: "\(error)"), applied: applied)
        }
    }

    /// Sets, then the tables, then set removals: a set exists before a rule
    /// names it and goes only once no rule does.
    private func applySetsAndTables(_ ruleset: inout Ruleset, scope: Scope, dryRun: Bool, report: inout ApplyReport,
                                    applied: inout [String], clock: inout PhaseClock) throws(ApplyError) {
        func step<T>(_ body: () throws -> T) throws(ApplyError) -> T { try Self.step(applied: applied, body) }
        let kernelSets = try step { () throws(NetfilterError) in
            // A VM scope reads its sets by name, and its peer sets, whose names only the kernel knows.
            let names = try scope.setNames().map { named throws(NetfilterError) in
                named + (try IPSetBackend.names()).filter { scope.ownsWholeSet($0) && !named.contains($0) }
            }
            return try IPSetBackend.save(names: names)
        }
        let setPlan = IPSetPlanner.plan(desired: ruleset.ipsets, kernel: kernelSets, scope: scope)
        let untracked = UntrackedFlows.plan(desired: ruleset.ipsets, kernel: kernelSets)
        report.add(count: setPlan.beforeRules.count) { setPlan.beforeRules.map { .batchLine("ipset", $0) } }
        if !dryRun, !setPlan.beforeRules.isEmpty {
            try step { try IPSetBackend.run(setPlan.beforeRules) }
            applied.append("ipset additions")
        }
        report.timings.append(("ipset read and additions", clock.lap()))

        let sync = tables.sync(&ruleset, dryRun: dryRun, recordsChanges: recordsChanges)
        report.retriedCommits += sync.retries
        report.timings += sync.timings
        for table in sync.tables where table.editCount > 0 {
            report.add(count: table.editCount) { table.changes }
            if !dryRun {
                report.committedTables.append(table.object)
                applied.append(table.object)
            }
        }
        clock.lap()
        if let failure = sync.failure { throw ApplyError(failure: failure, applied: applied) }

        report.add(count: setPlan.afterRules.count) { setPlan.afterRules.map { .batchLine("ipset", $0) } }
        if !dryRun, !setPlan.afterRules.isEmpty {
            try step { try IPSetBackend.run(setPlan.afterRules, releaseWait: tables.setReleaseWait) }
            applied.append("ipset removals")
        }
        report.timings.append(("ipset removals", clock.lap()))
        report.forgetStaleEntries(untracked, dryRun: dryRun)
        report.timings.append(("conntrack", clock.lap()))
    }


    /// What the ebtables phase did: its batch lines (kept only when changes
    /// are recorded), whether they were applied, and its own phase timings.
    private struct EbtablesOutcome: Sendable {
        var lines: [String] = []
        var lineCount = 0
        var applied = false
        var timings: [(phase: String, seconds: Double)] = []
    }

    /// Starts reading the scope's ebtables chains, planning against
    /// `desired` and (unless a dry run) applying the batch.
    private func syncEbtables(_ desired: EbtablesTable, scope: Scope, dryRun: Bool) -> BackgroundWork<EbtablesOutcome, NetfilterError> {
        let recordsChanges = recordsChanges
        return BackgroundWork { () throws(NetfilterError) in
            var outcome = EbtablesOutcome()
            var clock = PhaseClock()
            let kernel = try EbtablesBackend.read(chains: scope.ebtablesChainNames(), wanted: Set(desired.chains.keys))
            let lines = EbtablesPlanner.plan(desired: desired, kernel: kernel, scope: scope)
            let oversized = EbtablesPlanner.oversizedObsoleteChains(desired: desired, kernel: kernel, scope: scope)
            outcome.lineCount = lines.count + 2 * oversized.count
            if recordsChanges { outcome.lines = lines + oversized.flatMap { ["-F \($0)", "-X \($0)"] } }
            outcome.timings.append(("ebtables read", clock.lap()))
            if !dryRun, let whole = EbtablesPlanner.wholeTable(desired: desired, kernel: kernel, scope: scope) {
                try EbtablesBackend.restore(table: whole)
                outcome.applied = true
                outcome.timings.append(("ebtables restore", clock.lap()))
            } else if !dryRun, !lines.isEmpty || !oversized.isEmpty {
                try EbtablesBackend.restore(lines)
                try EbtablesBackend.delete(oversized)
                outcome.applied = true
                outcome.timings.append(("ebtables batch", clock.lap()))
            }
            return outcome
        }
    }
}

extension ApplyReport {
    /// Deletes the conntrack entries of flows that just became untracked.
    /// The rules are in place by then; a failure here is only a warning.
    mutating func forgetStaleEntries(_ flows: UntrackedFlows, dryRun: Bool) {
        guard !flows.isEmpty else { return }
        let addresses = flows.addresses.map(\.description).sorted().joined(separator: " ")
        func line(_ text: String) -> NetfilterChange { NetfilterChange(table: "conntrack", object: "", line: "conntrack: \(text)") }
        guard !dryRun else {
            add(count: 1) { [line("forget the entries of flows of \(addresses), now untracked")] }
            return
        }
        do {
            let count = try ConntrackTable.forget(flows, local: ConntrackTable.localAddresses())
            add(count: 1) { [line("forgot \(count) entries of flows of \(addresses), now untracked")] }
        } catch {
            warnings.append("conntrack: entries of flows of \(addresses) not forgotten: \(error)")
        }
    }
}
