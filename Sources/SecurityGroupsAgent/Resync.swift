import Foundation
import SecurityGroupsCore
public import SecurityGroupsKernel

/// What a resync did.
public struct ResyncSummary: Sendable {
    /// Recorded VMs libvirt runs, programmed now.
    public var vms: [String] = []
    /// Recorded VMs libvirt does not run: their records are kept, nothing programmed.
    public var notRunning: [String] = []
    /// Running VMs with rules in the kernel but no record (the script's): left as they are.
    public var unrecorded: [String] = []
    /// NICs whose MAC the running domain no longer has, and unreadable state files.
    public var problems: [String] = []
    /// iptables, ip6tables and ebtables rules, and sets, in the desired state.
    public var rules = 0
    public var sets = 0
    public var report = ApplyReport()
    public var seconds = 0.0

    public var line: String {
        let extra = (notRunning.isEmpty ? "" : ", \(notRunning.count) recorded not running")
            + (unrecorded.isEmpty ? "" : ", \(unrecorded.count) running unrecorded left alone")
            + (problems.isEmpty ? "" : ", \(problems.count) problems")
        let tables = report.committedTables.isEmpty ? "no commit" : "committed \(report.committedTables.joined(separator: ", "))"
        return "resync: \(vms.count) VMs, \(rules) rules, \(sets) sets, \(report.changeCount) changes (\(tables))\(extra), "
            + String(format: "%.2f s", seconds)
    }
}

extension Agent {
    /// Re-programs every recorded VM that libvirt runs or has paused, from
    /// the state store, in one transaction per table: after a reboot (vif
    /// names change, so NICs are matched by MAC) or to repair drift. The
    /// objects of VMs that are gone are removed; rule logs that a reboot
    /// wiped are written again with the domain's new id. Then carries out
    /// the agent commands that waited for it.
    public func resync(dryRun: Bool = false, progress: (String) -> Void = { _ in }) throws(AgentError) -> ResyncSummary {
        let started = Date()
        do {
            let lock = try configuration.commandLock()
            defer { withExtendedLifetime(lock) {} }
            // A resync sets the whole host, so it may replace the native layout.
            try settleLayout()
            try host.checkHost(allowNFTables: false, layout: layout, replacesHost: true)
            progress("reading the state store and libvirt's domains")
            let desired = try desiredHost()
            var summary = ResyncSummary()
            summary.vms = desired.host.vms.map(\.name.rawValue)
            summary.notRunning = desired.notRunning
            summary.unrecorded = desired.unrecorded
            summary.problems = desired.problems
            // The native layout is loaded whole: the script's VMs (which a
            // scope would leave in the iptables tables) cannot keep a
            // second rule set beside it; their ports are closed until their
            // next command.
            let native = layout == .native
            let (programmed, scope) = (desired.host, native ? .host : desired.scope)
            progress("rendering \(programmed.vms.count) VMs and applying them")
            var counts = (rules: 0, sets: 0)
            // Rendered inside the apply, which then owns the ruleset and lets
            // go of each family's rules once they are committed.
            summary.report = try host.apply(ApplyOptions(dryRun: dryRun, recordsChanges: dryRun)) {
                let ruleset = Renderer.render(programmed, layout: layout, scope: scope)
                counts.rules = AddressFamily.allCases.flatMap { ruleset.iptables($0).tables }.map(\.ruleCount).reduce(0, +)
                    + ruleset.ebtables.ruleCount
                counts.sets = ruleset.ipsets.count
                return ruleset
            }
            (summary.rules, summary.sets) = counts
            if !dryRun {
                if native { summary.report.add(try removeIptablesLayout()) } else { try host.replaceNativeLayout(with: nil) }
                progress("recording state and rule logs")
                try rewriteRecords(programmed, annotations: store.annotations(), domainIDs: desired.domainIDs)
            }
            summary.seconds = Date().timeIntervalSince(started)
            logger.info("\(summary.line)")
            for problem in summary.problems { logger.warning("resync: \(problem)") }
            // The agent's commands that arrived meanwhile (a host coming
            // back), together, before anyone else takes the lock.
            if !dryRun { carryOutWaiting(commandQueue) }
            return summary
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("resync: \(error)")
        }
    }

    /// The host as recorded, reduced to the VMs libvirt runs or has paused,
    /// their NICs renamed to the vifs libvirt reports for their MACs; and
    /// the scope that re-programs it.
    struct DesiredHost {
        var host: HostState
        var scope: Scope
        /// Every recorded VM, as recorded.
        var recorded: [VirtualMachine] = []
        /// libvirt's domain ids by name, as the rule logs write them (`-1` when not running).
        var domainIDs: [String: String] = [:]
        var notRunning: [String] = []
        var unrecorded: [String] = []
        var problems: [String] = []
    }

    func desiredHost() throws -> DesiredHost {
        let (recorded, problems) = store.load()
        let domains = try host.domains()
        let aliveNames = Set(domains.filter { $0.state == .running || $0.state == .paused }.map(\.name))
        var desired = DesiredHost(host: HostState(bridges: recorded.bridges, vms: []), scope: .host, recorded: recorded.vms,
                                  domainIDs: Dictionary(domains.map { ($0.name, $0.id.map(String.init) ?? "-1") },
                                                        uniquingKeysWith: { first, _ in first }),
                                  problems: problems)
        var vmScope = VMScope()
        for var vm in recorded.vms {
            guard aliveNames.contains(vm.name.rawValue) else {
                desired.notRunning.append(vm.name.rawValue)
                continue
            }
            let programmed = vm
            let interfaces = try host.interfaces(of: vm.name.rawValue) ?? []
            vm.nics = try Self.matching(vm.nics, to: interfaces, of: vm.name, problems: &desired.problems)
            desired.host.vms.append(vm)
            vmScope.add(vm.name, programmed: programmed, desired: vm)
        }
        let running = desired.host
        desired.host.bridges = running.bridges.filter { bridge in running.vms.contains { $0.nics.contains { $0.bridge == bridge.name } } }
        let recordedNames = Set(recorded.vms.map(\.name.rawValue))
        let inKernel = try host.vmChainNames()
        desired.unrecorded = inKernel.filter { aliveNames.contains($0) && !recordedNames.contains($0) }
        // Without VMs of others in the kernel the whole host is ours;
        // otherwise only the recorded VMs and the dead VMs' leftovers.
        if !desired.unrecorded.isEmpty {
            for dead in inKernel.filter({ !aliveNames.contains($0) }).compactMap({ try? VMName($0) }) {
                vmScope.add(dead, programmed: recorded.vms.first { $0.name == dead }, desired: nil)
            }
            desired.scope = try vmScope.scope(kernel)
        }
        return desired
    }

    /// The recorded NICs with the vif (and bridge) the running domain has now
    /// for the same MAC; a system VM's NICs (no MAC) by bridge, in order.
    static func matching(_ nics: [NIC], to interfaces: [DomainInterface], of vm: VMName,
                         problems: inout [String]) throws -> [NIC] {
        var unused = interfaces
        var result: [NIC] = []
        for var nic in nics {
            let index: Int? = if let mac = nic.mac {
                unused.firstIndex { $0.mac.flatMap(MACAddress.init) == mac }
            } else {
                unused.firstIndex { $0.bridge == nic.bridge.rawValue }
            }
            guard let found = index, let vif = unused[found].vif else {
                problems.append("\(vm): no interface with MAC \(nic.mac.map(String.init(describing:)) ?? "-") (was \(nic.vif)): NIC dropped")
                continue
            }
            nic.vif = try InterfaceName(vif, field: "vif of \(vm)")
            if let bridge = unused[found].bridge { nic.bridge = try InterfaceName(bridge, field: "bridge of \(vm)") }
            unused.remove(at: found)
            result.append(nic)
        }
        return result
    }

    /// Saves the programmed VMs' state (files that change only) and writes
    /// their rule logs again where they are missing or differ, with the
    /// domain's id of now.
    private func rewriteRecords(_ host: HostState, annotations: [VMName: StateStore.Annotations], domainIDs ids: [String: String]) throws {
        try Files.makeDirectory(configuration.runDirectory)
        store.removeLeftovers()
        var records: [(vm: VirtualMachine, annotations: StateStore.Annotations)] = []
        for vm in host.vms {
            var recorded = annotations[vm.name] ?? StateStore.Annotations()
            if var log = recorded.ruleLog.flatMap(RuleLog.init(parsing:)) {
                log.domainID = ids[vm.name.rawValue] ?? "None"
                recorded.ruleLog = log.line
            }
            for (text, suffix) in [(recorded.ruleLog, "log"), (recorded.secondaryIPLog, "ip")] {
                guard let text, try Files.read(logPath(vm.name, suffix)) != text else { continue }
                try Files.write(text, to: logPath(vm.name, suffix))
            }
            recorded.layout = layout.rawValue
            records.append((vm, recorded))
        }
        try store.save(records, hostBridges: host.bridges)
    }
}

extension IPTable {
    /// Rules in all chains, built-in and user.
    var ruleCount: Int { chains.values.map(\.count).reduce(0, +) + builtinRules.values.map(\.count).reduce(0, +) }
}

extension EbtablesTable {
    var ruleCount: Int { chains.values.map(\.count).reduce(0, +) + builtinRules.values.map(\.count).reduce(0, +) }
}
