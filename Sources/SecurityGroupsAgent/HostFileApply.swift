public import SecurityGroupsCore
public import SecurityGroupsKernel

extension Agent {
    /// `security-groups apply`: brings the kernel to the ruleset of a host
    /// file, for the whole host or for one VM (its interfaces in the file,
    /// and those its chains in the kernel name: a VM gone from the file).
    /// Takes the command lock, as long as it is held, unless a dry run.
    ///
    /// The whole host's apply replaces whatever layout was there: `native`
    /// loads its tables in one transaction, then removes our objects (and
    /// the script's) from the iptables tables, ipset and ebtables; the
    /// others remove the `native` tables after their own commits. So
    /// packets always meet at least one complete rule set.
    public func apply(_ desired: HostState, layout: Layout, vm: VMName?, dryRun: Bool,
                      allowNFTables: Bool) throws(AgentError) -> ApplyReport {
        if layout == .native, vm == nil { return try applyNative(desired, dryRun: dryRun, allowNFTables: allowNFTables) }
        do {
            try host.checkHost(allowNFTables: allowNFTables, layout: layout, replacesHost: vm == nil)
            let scope = try vm.map { (name) throws(NetfilterError) in
                var vmScope = VMScope()
                vmScope.add(name, programmed: nil, desired: desired.vms.first { $0.name == name })
                return try vmScope.scope(kernel)
            } ?? .host
            // Never over an agent command (or the script).
            let lock = try dryRun ? nil : configuration.commandLock()
            defer { withExtendedLifetime(lock) {} }
            let report = try host.apply(ApplyOptions(dryRun: dryRun, recordsChanges: dryRun)) { Renderer.render(desired, layout: layout, scope: scope) }
            if vm == nil, !dryRun { try host.replaceNativeLayout(with: nil) }
            return report
        } catch {
            throw Self.agentError(error)
        }
    }

    private func applyNative(_ desired: HostState, dryRun: Bool, allowNFTables: Bool) throws(AgentError) -> ApplyReport {
        do {
            try host.checkHost(allowNFTables: allowNFTables, layout: .native, replacesHost: true)
            let native = try NativeRuleset(Renderer.render(desired, layout: .native))
            var report = ApplyReport()
            report.changeCount = native.objectCount
            if dryRun {
                report.changes = native.text.split(separator: "\n").map { NetfilterChange(table: "nft", object: NativeRuleset.tableName, line: String($0)) }
                return report
            }
            let lock = try configuration.commandLock()
            defer { withExtendedLifetime(lock) {} }
            try host.replaceNativeLayout(with: consume native)
            report.committedTables = NativeRuleset.tableNames.map { "nft " + $0 }
            report.add(try removeIptablesLayout())
            return report
        } catch {
            throw Self.agentError(error)
        }
    }

    /// Removes what an iptables layout (ours or the script's) left: the
    /// chains, sets and ebtables chains of CloudStack, once the native
    /// tables are in place.
    func removeIptablesLayout() throws(ApplyError) -> ApplyReport {
        try host.apply(ApplyOptions(recordsChanges: false)) {
            Renderer.render(HostState(bridges: [], vms: []), layout: .classic, scope: .host)
        }
    }
}

extension ApplyReport {
    /// Adds another apply's counts, commits, timings and warnings.
    mutating func add(_ other: ApplyReport) {
        changeCount += other.changeCount
        committedTables += other.committedTables
        timings += other.timings
        warnings += other.warnings
    }
}
