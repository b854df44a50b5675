import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

/// Steps the agent commands share.
extension Agent {
    /// Logs what an apply changed, for whom.
    func log(_ report: ApplyReport, for subject: String) {
        let tables = report.committedTables.isEmpty ? "no commit" : "committed \(report.committedTables.joined(separator: ", "))"
        logger.info("\(subject): \(report.changeCount) changes, \(tables)")
        for line in report.lines { logger.debug("  \(line)") }
        for warning in report.warnings { logger.warning("\(subject): \(warning)") }
        let phases = report.timings.map { "\($0.phase) \(String(format: "%.2f", $0.seconds * 1000)) ms" }
        logger.debug("\(subject): timings: \(phases.joined(separator: ", "))")
    }

    /// Puts `vm` in place of the VM of the same name (or at the end), and
    /// adds the bridges of its NICs that the host lacks, with their uplinks
    /// now (a VM taken over from the script brings bridges nothing recorded).
    func place(_ vm: VirtualMachine, in state: inout HostState) throws {
        for bridge in vm.nics.map(\.bridge) where !state.bridges.contains(where: { $0.name == bridge }) {
            let uplink = try host.uplink(of: bridge.rawValue).map { (text) throws(InputError) in
                try InterfaceName(text, field: "uplink of \(bridge)")
            }
            state.bridges.append(Bridge(name: bridge, uplink: uplink))
        }
        if let index = state.vms.firstIndex(where: { $0.name == vm.name }) { state.vms[index] = vm } else { state.vms.append(vm) }
    }

    /// Saves the VM's desired state with the layout it now has and its rule
    /// logs as they stand.
    func record(_ vm: VirtualMachine, _ batch: inout Batch) throws {
        let annotations = StateStore.Annotations(layout: layout.rawValue, ruleLog: try batch.read(logPath(vm.name, "log")),
                                                 secondaryIPLog: try batch.read(logPath(vm.name, "ip")))
        batch.record(vm, annotations: annotations)
    }

    /// The domain id a command's rule log gives the VM: a placeholder until
    /// its files are written (`DomainIDPlaceholder`).
    func domainID(_ name: VMName) -> String { DomainIDPlaceholder.of(name) }

    /// `text` with libvirt's domain ids for its placeholders, as the script
    /// logs them: the id, `-1` when the domain is defined but not running,
    /// `None` when libvirt has no such domain.
    func resolvingDomainIDs(_ text: String) throws -> String {
        try DomainIDPlaceholder.resolve(text) { name in
            guard let domain = try host.domain(named: name) else { return "None" }
            return domain.id.map(String.init) ?? "-1"
        }
    }

    /// Whether two rule logs say the same: libvirt is asked only when all but their domain ids agree.
    func sameLog(_ first: RuleLog, _ second: RuleLog) throws -> Bool {
        var (withoutIDs, otherWithoutIDs) = (first, second)
        (withoutIDs.domainID, otherWithoutIDs.domainID) = ("", "")
        guard withoutIDs == otherWithoutIDs else { return false }
        return try resolvingDomainIDs(first.domainID) == resolvingDomainIDs(second.domainID)
    }

    func logPath(_ name: VMName, _ suffix: String) -> String { "\(configuration.runDirectory)/\(name.rawValue).\(suffix)" }

    func writeLog(_ batch: inout Batch, _ log: RuleLog) throws {
        batch.write(log.line, to: logPath(try VMName(log.vmName), "log"))
    }

    func readLog(_ name: VMName, _ batch: Batch) throws -> RuleLog? {
        try batch.read(logPath(name, "log")).flatMap(RuleLog.init(parsing:))
    }
}
