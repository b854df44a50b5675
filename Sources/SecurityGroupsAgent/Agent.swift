import Foundation
public import Logging
import SecurityGroupsCore
import SecurityGroupsKernel

/// The script's ten commands, each one transaction: record the VM's desired
/// state, render it, apply it in the VM's scope (at most one commit per
/// table), then write the rule logs the management server reads.
public final class Agent {
    public let configuration: AgentConfiguration
    let store: StateStore
    let logger: Logger
    private var libvirtClient: LibvirtClient?

    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.store = StateStore(directory: configuration.stateDirectory)
        self.logger = logger
    }

    /// What a command prints, and its exit status (verify uses 2-5 like the script).
    public struct Outcome: Equatable, Sendable {
        public var output: String
        public var status: Int32
        /// Input left out, one line each (also in the log): for stderr, never stdout.
        public var warnings: [String]
        public init(output: String = "", status: Int32 = 0, warnings: [String] = []) {
            self.output = output
            self.status = status
            self.warnings = warnings
        }
    }

    public enum Command: String, CaseIterable, Sendable {
        case canBridgeFirewall = "can_bridge_firewall"
        case defaultNetworkRules = "default_network_rules"
        case defaultNetworkRulesSystemVM = "default_network_rules_systemvm"
        case postDefaultNetworkRules = "post_default_network_rules"
        case addNetworkRules = "add_network_rules"
        case secondaryIP = "network_rules_vmSecondaryIp"
        case destroy = "destroy_network_rules_for_vm"
        case cleanup = "cleanup_rules"
        case ruleLogs = "get_rule_logs_for_vms"
        case verify = "verify_network_rules"

        /// Whether it changes VMs' rules: such commands that arrive together are carried out together.
        var changesVMs: Bool { ![.canBridgeFirewall, .cleanup, .ruleLogs, .verify].contains(self) }
    }

    /// Carries out commands that arrived together, in order, under the
    /// command lock: each run of consecutive commands that change VMs as
    /// one transaction (`carryOutTogether`), the others alone.
    func carryOut(_ commands: [(Command, AgentArguments)]) -> [Result<Outcome, AgentError>] {
        do {
            // Before anything changes: never a second rule set beside CloudStack's.
            try HostWorld.verify()
        } catch {
            let failure = Self.agentError(error)
            logger.error("\(failure)")
            return commands.map { _ in .failure(failure) }
        }
        var results: [Result<Outcome, AgentError>] = []
        var index = 0
        while index < commands.count {
            var end = index + 1
            if commands[index].0.changesVMs {
                while end < commands.count, commands[end].0.changesVMs { end += 1 }
                results += carryOutTogether(Array(commands[index..<end]))
            } else {
                results.append(carryOutAlone(commands[index].0, commands[index].1))
            }
            index = end
        }
        return results
    }

    /// Commands that change VMs, as one transaction: each reads and changes
    /// the desired state in a `Batch`, seeing the changes of those before it;
    /// the kernel is changed once for all; then each writes its files. A
    /// command that fails fails alone. When the kernel refuses the change of
    /// several, each is carried out alone, so that a failure is only theirs.
    private func carryOutTogether(_ commands: [(Command, AgentArguments)]) -> [Result<Outcome, AgentError>] {
        var batch = Batch(store: store)
        var results: [Result<Outcome, AgentError>] = []
        var writes: [[Batch.Write]] = []
        for (command, arguments) in commands {
            logger.info("Executing command: \(command.rawValue) \(arguments.summary)")
            let before = batch
            do {
                results.append(.success(try change(command, arguments, &batch)))
            } catch {
                batch = before
                results.append(.failure(Self.agentError(error)))
            }
            writes.append(batch.takeWrites())
        }
        if batch.changesKernel {
            let (host, scope) = (batch.host, batch.scope)
            do {
                let report = try Applier().apply(scope: scope, ebtables: batch.changesEbtables) {
                    Renderer.render(host, layout: configuration.layout, scope: scope)
                }
                log(report, for: batch.names.map(\.rawValue).joined(separator: ", "))
            } catch {
                let failure = Self.agentError(error)
                guard commands.count == 1 else {
                    logger.warning("\(commands.count) commands together failed (\(failure)): each alone")
                    return commands.flatMap { carryOutTogether([$0]) }
                }
                results = results.map { $0.flatMap { _ in .failure(failure) } }
            }
        }
        for (index, (command, _)) in commands.enumerated() {
            if case .success = results[index] {
                do { try batch.perform(writes[index]) } catch { results[index] = .failure(Self.agentError(error)) }
            }
            report(command, results[index])
        }
        return results
    }

    private func carryOutAlone(_ command: Command, _ arguments: AgentArguments) -> Result<Outcome, AgentError> {
        logger.info("Executing command: \(command.rawValue) \(arguments.summary)")
        let result: Result<Outcome, AgentError>
        do {
            switch command {
            case .canBridgeFirewall: result = .success(try canBridgeFirewall(arguments))
            case .cleanup: try cleanup(); result = .success(Outcome())
            case .ruleLogs: result = .success(Outcome(output: try ruleLogs() + "\n"))
            case .verify: result = .success(try Verifier(agent: self).verify(arguments))
            default: result = .failure(AgentError("\(command.rawValue) changes VMs: carried out with others"))
            }
        } catch {
            result = .failure(Self.agentError(error))
        }
        report(command, result)
        return result
    }

    private func change(_ command: Command, _ arguments: AgentArguments, _ batch: inout Batch) throws -> Outcome {
        switch command {
        case .defaultNetworkRules: try defaultNetworkRules(arguments, &batch)
        case .defaultNetworkRulesSystemVM: try systemVM(arguments, &batch)
        case .postDefaultNetworkRules: try postDefault(arguments, &batch)
        case .addNetworkRules: return try addNetworkRules(arguments, &batch)
        case .secondaryIP: try secondaryIP(arguments, &batch)
        case .destroy: try destroy(arguments, &batch)
        default: throw AgentError("\(command.rawValue) does not change VMs: carried out alone")
        }
        return Outcome()
    }

    private func report(_ command: Command, _ result: Result<Outcome, AgentError>) {
        switch result {
        case .success(let outcome):
            for warning in outcome.warnings { logger.warning("\(warning)") }
            logger.info("\(command.rawValue) done, exit \(outcome.status)\(outcome.output.isEmpty ? "" : ": \(outcome.output.trimmingCharacters(in: .newlines))")")
        case .failure(let error):
            logger.error("\(command.rawValue) failed: \(error)")
        }
    }

    /// The failure as the agent reports it: bad input, or a failing host.
    static func agentError(_ error: any Error) -> AgentError {
        switch error {
        case let error as AgentError: error
        case let error as InputError: AgentError(error.description, kind: .badInput)
        case let error as ApplyError: AgentError(error.description)
        case let error as NetfilterError: AgentError(error.description)
        case let error as Files.Failure: AgentError(error.description)
        default: AgentError("\(error)")
        }
    }

    // MARK: - Commands

    private func canBridgeFirewall(_ arguments: AgentArguments) throws -> Outcome {
        // The agent passes the public NIC it found, or an empty string; the script ignores it.
        if let nic = arguments.privateNIC, !nic.isEmpty { _ = try InterfaceName(nic, field: "privnic") }
        guard IPTablesAvailability.ebtablesInstalled() else { return Outcome(output: "no ebtables on your host machine\n", status: 2) }
        try Files.makeDirectory(configuration.runDirectory)
        try cleanup()
        return Outcome()
    }

    private func defaultNetworkRules(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        guard name.kind == .user else { throw InputError(field: "vmname", value: name.rawValue, reason: "not a guest (i-) VM") }
        let id = try arguments.id
        let nic = try arguments.nic()
        var host = batch.host(name)
        let previous = host.vms.first { $0.name == name }
        if arguments.check {
            // The agent checks before every add_network_rules. Ours: repair,
            // change nothing. Rules the script wrote: leave them, as it would.
            if let previous, previous.nics.contains(where: { $0.vif == nic.vif }) {
                batch.change(host, name, previous: previous)
                return
            }
            if previous == nil, try KernelQuery.hasDefaultRules(name, vif: nic.vif.rawValue) { return }
        }
        // A further NIC of a VM the script programmed: take the VM over first.
        let base = arguments.isFirstNIC ? nil : try previous ?? adopted(name, id: id, nic: nil)
        var vm = base ?? VirtualMachine(name: name, id: id, nics: [], rules: nil)
        vm.nics.removeAll { $0.vif == nic.vif || $0.mac == nic.mac }
        vm.nics.append(nic)
        try addBridge(nic.bridge, to: &host)
        host.replace(vm)
        batch.change(host, name, previous: previous ?? base)
        if let ip = nic.ipv4, arguments.isFirstNIC {
            try writeLog(&batch, RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: ip.description,
                                 domainID: domainID(name), signature: "_initial_", sequence: "-1"))
        }
        if !nic.secondaryAddresses.isEmpty, let text = arguments.secondaryIPs {
            batch.write(RuleLog.secondaryIPLine(vmName: name.rawValue, secondaryIPs: text, vmID: arguments.vmID ?? ""),
                        to: logPath(name, "ip"))
        }
        try record(vm, &batch)
    }

    private func systemVM(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        guard name.kind == .system else { throw InputError(field: "vmname", value: name.rawValue, reason: "not a system (r-, s-, v-) VM") }
        let local = try arguments.localBridge.map { (text) throws(InputError) in try InterfaceName(text, field: "localbrname") }
        let interfaces = try libvirt().interfaces(of: name.rawValue) ?? []
        var host = batch.host(name)
        var nics: [NIC] = []
        for interface in interfaces {
            guard let vifName = interface.vif, let bridgeName = interface.bridge, bridgeName != local?.rawValue else { continue }
            let nic = NIC(vif: try InterfaceName(vifName, field: "vif"), bridge: try InterfaceName(bridgeName, field: "brname"))
            try addBridge(nic.bridge, to: &host)
            nics.append(nic)
        }
        let previous = host.vms.first { $0.name == name }
        let vm = VirtualMachine(name: name, nics: nics)
        host.replace(vm)
        batch.change(host, name, previous: previous)
        try writeLog(&batch, RuleLog(vmName: name.rawValue, vmID: "-1", vmIP: "_ignore_", domainID: domainID(name),
                             signature: "_initial_", sequence: "-1"))
        try record(vm, &batch)
    }

    private func postDefault(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        let vif = try InterfaceName(try arguments.required(arguments.vif, "vif"), field: "vif")
        let ip = try AgentArgument.ipv4(try arguments.required(arguments.vmIP, "vmip"))
        let metadata = MetadataRedirect(
            dhcpServer: try arguments.dhcpServer.map { (text) throws(InputError) in try AgentArgument.ipv4(text, field: "dhcpSvr") },
            hostIP: try AgentArgument.ipv4(try arguments.required(arguments.hostIP, "hostIp"), field: "hostIp"),
            hostMAC: try AgentArgument.mac(try arguments.required(arguments.hostMAC, "hostMacAddr"), field: "hostMacAddr"))
        var host = batch.host(name)
        guard let previous = try host.vms.first(where: { $0.name == name }) ?? adopted(name, id: nil, nic: nil),
              let index = previous.nics.firstIndex(where: { $0.vif == vif }) else {
            throw AgentError("post_default_network_rules \(name): no default rules for vif \(vif) (run default_network_rules first)")
        }
        var vm = previous
        vm.nics[index].metadata = metadata
        host.replace(vm)
        batch.change(host, name, previous: previous)
        try writeLog(&batch, RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: ip.description, domainID: domainID(name),
                             signature: "_initial_", sequence: "-1"))
        try record(vm, &batch)
    }

    private func addNetworkRules(_ arguments: AgentArguments, _ batch: inout Batch) throws -> Outcome {
        let name = try arguments.name
        let signature = try AgentArgument.signature(try arguments.required(arguments.signature, "sig"))
        let sequence = try AgentArgument.sequenceNumber(try arguments.required(arguments.sequence, "seq"))
        let rules = try RuleParser.parse(arguments.rules ?? "")
        let skipped = rules.flatMap { rule in
            rule.unusableCIDRs.map { "rules: skipped '\($0)' in '\(rule.wireForm)': not a CIDR, allows nothing" }
        }
        let nic = try arguments.nic()
        let log = RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: arguments.vmIP ?? "",
                          domainID: try domainID(name), signature: signature, sequence: String(sequence))
        var host = batch.host(name)
        let previous = host.vms.first { $0.name == name }
        // The script's "already programmed" check: nothing changed since the last log.
        if previous != nil, let logged = try readLog(name, batch), logged == log { return Outcome(warnings: skipped) }
        let id = try arguments.id
        var vm = try previous ?? adopted(name, id: id, nic: nic) ?? VirtualMachine(name: name, id: id, nics: [nic])
        vm.rules = rules
        if !vm.nics.contains(where: { $0.vif == nic.vif }) { vm.nics.append(nic) }
        try addBridge(nic.bridge, to: &host)
        host.replace(vm)
        batch.change(host, name, previous: previous, ebtables: previous?.nics != vm.nics)
        try writeLog(&batch, log)
        try record(vm, &batch)
        return Outcome(warnings: skipped)
    }

    private func secondaryIP(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        let mac = try AgentArgument.mac(try arguments.required(arguments.vmMAC, "vmmac"))
        let addresses = try AgentArgument.secondaryIPs(try arguments.required(arguments.secondaryIPs, "nicsecips"))
        let action = try AgentArgument.action(try arguments.required(arguments.action, "action"))
        var host = batch.host(name)
        guard let previous = try host.vms.first(where: { $0.name == name }) ?? adopted(name, id: nil, nic: nil),
              let index = previous.nics.firstIndex(where: { $0.mac == mac }) else {
            throw AgentError("network_rules_vmSecondaryIp \(name): no NIC with MAC \(mac)")
        }
        var vm = previous
        for address in addresses {
            vm.nics[index].secondaryAddresses.removeAll { $0 == address }
            if action == .add { vm.nics[index].secondaryAddresses.append(address) }
        }
        host.replace(vm)
        batch.change(host, name, previous: previous)
        try record(vm, &batch)
    }

    private func destroy(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        let vif = try arguments.vif.map { (text) throws(InputError) in try InterfaceName(text, field: "vif") }
        var host = batch.host(name)
        let previous = host.vms.first { $0.name == name }
        if arguments.vmIP != nil || arguments.vmMAC != nil {
            // One NIC of the VM (an unplug: the agent sends its MAC, and its
            // IPv4 address when it has one). The script takes a NIC without
            // IPv4 for the whole VM and leaves the VM's other NICs without rules.
            let ip = try arguments.vmIP.map { (text) throws(InputError) in try AgentArgument.ipv4(text) }
            let mac = try arguments.vmMAC.map { (text) throws(InputError) in try AgentArgument.mac(text) }
            guard var vm = previous else { return }
            vm.nics.removeAll { $0.vif == vif || (ip != nil && $0.ipv4 == ip) || (mac != nil && $0.mac == mac) }
            host.replace(vm)
            batch.change(host, name, previous: previous, extraVIFs: vif.map { [$0.rawValue] } ?? [])
            try record(vm, &batch)
            return
        }
        host.vms.removeAll { $0.name == name }
        batch.change(host, name, previous: previous, extraVIFs: vif.map { [$0.rawValue] } ?? [])
        batch.removeRecord(name)
        batch.remove(logPath(name, "log"))
        batch.remove(logPath(name, "ip"))
    }

    /// Removes what VMs no longer running or paused left: every VM we
    /// recorded, and every VM chain in the kernel, that libvirt does not know.
    private func cleanup() throws {
        let alive = try libvirt().domains().filter { $0.state == .running || $0.state == .paused }.map(\.name)
        var (host, _) = store.load()
        var dead = Set(host.vms.map(\.name).filter { !alive.contains($0.rawValue) })
        let aliveChains = Set(alive.compactMap { try? VMName($0) }.flatMap { [NetfilterNames($0).vmChain, NetfilterNames.script($0).vmChain] })
        for chain in try IPTablesAvailability.vmChainNames() where !aliveChains.contains(chain) && !alive.contains(where: { $0.hasPrefix(chain) }) {
            if let name = try? VMName(chain) { dead.insert(name) }
        }
        guard !dead.isEmpty else { return }
        let vifs = Set(host.vms.filter { dead.contains($0.name) }.flatMap { $0.nics.map(\.vif.rawValue) })
            .union(try KernelQuery.ports(of: dead))
        host.vms.removeAll { dead.contains($0.name) }
        let scope = Scope.vms(dead, vifs: vifs)
        let report = try Applier().apply(scope: scope) { Renderer.render(host, layout: configuration.layout, scope: scope) }
        log(report, for: dead.map(\.rawValue).sorted().joined(separator: ", "))
        for name in dead {
            try store.remove(name)
            try Files.remove(logPath(name, "log"))
            try Files.remove(logPath(name, "ip"))
        }
    }

    /// `;`-joined rule logs of the running guests, as the management server's sync reads them.
    private func ruleLogs() throws -> String {
        let running = try libvirt().domains().filter { $0.state == .running && $0.name.hasPrefix("i-") }
        return try running.map { domain -> String in
            guard let name = try? VMName(domain.name), let text = try Files.read(logPath(name, "log")) else { return "" }
            return RuleLog(parsing: text)?.line.trimmingCharacters(in: .newlines) ?? ""
        }.joined(separator: ";")
    }

    // MARK: - Shared steps

    private func log(_ report: ApplyReport, for subject: String) {
        let tables = report.committedTables.isEmpty ? "no commit" : "committed \(report.committedTables.joined(separator: ", "))"
        logger.info("\(subject): \(report.changeCount) changes, \(tables)")
        for change in report.changes { logger.debug("  \(change)") }
        for warning in report.warnings { logger.warning("\(subject): \(warning)") }
        let phases = report.timings.map { "\($0.phase) \(Int(($0.seconds * 1000).rounded())) ms" }
        logger.debug("\(subject): timings: \(phases.joined(separator: ", "))")
    }

    private func addBridge(_ bridge: InterfaceName, to host: inout HostState) throws {
        guard !host.bridges.contains(where: { $0.name == bridge }) else { return }
        let uplink = try HostInterfaces.uplink(of: bridge.rawValue).map { (text) throws(InputError) in
            try InterfaceName(text, field: "uplink of \(bridge)")
        }
        host.bridges.append(Bridge(name: bridge, uplink: uplink))
    }

    /// Saves the VM's desired state with the layout it now has and its rule
    /// logs as they stand.
    private func record(_ vm: VirtualMachine, _ batch: inout Batch) throws {
        let annotations = StateStore.Annotations(layout: configuration.layout.rawValue, ruleLog: try batch.read(logPath(vm.name, "log")),
                                                 secondaryIPLog: try batch.read(logPath(vm.name, "ip")))
        batch.record(vm, annotations: annotations)
    }

    /// One libvirt connection for every command this process carries out
    /// (opening one per command cost a burst of 100 VM starts seconds).
    func libvirt() throws(NetfilterError) -> LibvirtClient {
        if let libvirtClient { return libvirtClient }
        let client = try LibvirtClient(uri: configuration.libvirtURI)
        libvirtClient = client
        return client
    }

    /// The running domain's id as the script logs it: the id, `-1` when
    /// the domain is defined but not running, `None` when libvirt has no such domain.
    func domainID(_ name: VMName) throws -> String {
        guard let domain = try libvirt().domain(named: name.rawValue) else { return "None" }
        return domain.id.map(String.init) ?? "-1"
    }

    func logPath(_ name: VMName, _ suffix: String) -> String { "\(configuration.runDirectory)/\(name.rawValue).\(suffix)" }

    private func writeLog(_ batch: inout Batch, _ log: RuleLog) throws {
        batch.write(log.line, to: logPath(try VMName(log.vmName), "log"))
    }

    private func readLog(_ name: VMName, _ batch: Batch) throws -> RuleLog? {
        try batch.read(logPath(name, "log")).flatMap(RuleLog.init(parsing:))
    }
}

extension HostState {
    /// Puts `vm` in place of the VM of the same name, or at the end.
    mutating func replace(_ vm: VirtualMachine) {
        if let index = vms.firstIndex(where: { $0.name == vm.name }) { vms[index] = vm } else { vms.append(vm) }
    }
}
