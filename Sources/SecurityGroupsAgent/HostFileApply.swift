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
        if layout == .native { return try applyNative(desired, vm: vm, dryRun: dryRun, allowNFTables: allowNFTables) }
        do {
            try host.checkHost(allowNFTables: allowNFTables, replacesNativeLayout: vm == nil)
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

    private func applyNative(_ desired: HostState, vm: VMName?, dryRun: Bool, allowNFTables: Bool) throws(AgentError) -> ApplyReport {
        do {
            guard vm == nil else {
                throw InputError(field: "vm", value: vm!.rawValue, reason: "the native layout is applied to the whole host only (so far)")
            }
            try host.checkHost(allowNFTables: allowNFTables, replacesNativeLayout: true)
            let native = try NativeRuleset(Renderer.render(desired, layout: .native))
            var report = ApplyReport()
            report.changeCount = native.objectCount
            if dryRun {
                report.changes = native.text.split(separator: "\n").map { NetfilterChange(table: "nft", object: NativeRuleset.tableName, line: String($0)) }
                return report
            }
            let lock = try configuration.commandLock()
            defer { withExtendedLifetime(lock) {} }
            try host.replaceNativeLayout(with: native)
            report.committedTables = NativeRuleset.tableNames.map { "nft " + $0 }
            // What an iptables layout (ours or the script's) left goes now.
            let removal = try host.apply(ApplyOptions(recordsChanges: false)) {
                Renderer.render(HostState(bridges: [], vms: []), layout: .classic, scope: .host)
            }
            report.changeCount += removal.changeCount
            report.committedTables += removal.committedTables
            report.timings += removal.timings
            report.warnings += removal.warnings
            return report
        } catch {
            throw Self.agentError(error)
        }
    }
}
