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
    }

    public func run(_ command: Command, _ arguments: AgentArguments) throws(AgentError) -> Outcome {
        logger.info("Executing command: \(command.rawValue) \(arguments.summary)")
        do {
            let outcome = try execute(command, arguments)
            for warning in outcome.warnings { logger.warning("\(warning)") }
            logger.info("\(command.rawValue) done, exit \(outcome.status)\(outcome.output.isEmpty ? "" : ": \(outcome.output.trimmingCharacters(in: .newlines))")")
            return outcome
        } catch {
            logger.error("\(command.rawValue) failed: \(error)")
            throw error
        }
    }

    private func execute(_ command: Command, _ arguments: AgentArguments) throws(AgentError) -> Outcome {
        do {
            let lock = try CommandLock(path: configuration.lockFile)
            defer { withExtendedLifetime(lock) {} }
            // Before anything changes: never a second rule set beside CloudStack's.
            try HostWorld.verify()
            switch command {
            case .canBridgeFirewall: return try canBridgeFirewall(arguments)
            case .defaultNetworkRules: try defaultNetworkRules(arguments)
            case .defaultNetworkRulesSystemVM: try systemVM(arguments)
            case .postDefaultNetworkRules: try postDefault(arguments)
            case .addNetworkRules: return try addNetworkRules(arguments)
            case .secondaryIP: try secondaryIP(arguments)
            case .destroy: try destroy(arguments)
            case .cleanup: try cleanup()
            case .ruleLogs: return Outcome(output: try ruleLogs() + "\n")
            case .verify: return try Verifier(agent: self).verify(arguments)
            }
            return Outcome()
        } catch let error as AgentError {
            throw error
        } catch let error as InputError {
            throw AgentError(error.description, kind: .badInput)
        } catch let error as ApplyError {
            throw AgentError(error.description)
        } catch let error as NetfilterError {
            throw AgentError(error.description)
        } catch let error as Files.Failure {
            throw AgentError(error.description)
        } catch {
            throw AgentError("\(error)")
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

    private func defaultNetworkRules(_ arguments: AgentArguments) throws {
        let name = try arguments.name
        guard name.kind == .user else { throw InputError(field: "vmname", value: name.rawValue, reason: "not a guest (i-) VM") }
        let id = try arguments.id
        let nic = try arguments.nic()
        var (host, _) = store.load(name)
        let previous = host.vms.first { $0.name == name }
        if arguments.check {
            // The agent checks before every add_network_rules. Ours: repair,
            // change nothing. Rules the script wrote: leave them, as it would.
            if let previous, previous.nics.contains(where: { $0.vif == nic.vif }) {
                try apply(host, name, previous: previous)
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
        try apply(host, name, previous: previous ?? base)
        if let ip = nic.ipv4, arguments.isFirstNIC {
            try writeLog(RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: ip.description,
                                 domainID: domainID(name), signature: "_initial_", sequence: "-1"))
        }
        if !nic.secondaryAddresses.isEmpty, let text = arguments.secondaryIPs {
            try Files.write(RuleLog.secondaryIPLine(vmName: name.rawValue, secondaryIPs: text, vmID: arguments.vmID ?? ""),
                            to: logPath(name, "ip"))
        }
        try record(vm, host)
    }

    private func systemVM(_ arguments: AgentArguments) throws {
        let name = try arguments.name
        guard name.kind == .system else { throw InputError(field: "vmname", value: name.rawValue, reason: "not a system (r-, s-, v-) VM") }
        let local = try arguments.localBridge.map { (text) throws(InputError) in try InterfaceName(text, field: "localbrname") }
        let interfaces = try libvirt().interfaces(of: name.rawValue) ?? []
        var (host, _) = store.load(name)
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
        try apply(host, name, previous: previous)
        try writeLog(RuleLog(vmName: name.rawValue, vmID: "-1", vmIP: "_ignore_", domainID: domainID(name),
                             signature: "_initial_", sequence: "-1"))
        try record(vm, host)
    }

    private func postDefault(_ arguments: AgentArguments) throws {
        let name = try arguments.name
        let vif = try InterfaceName(try arguments.required(arguments.vif, "vif"), field: "vif")
        let ip = try AgentArgument.ipv4(try arguments.required(arguments.vmIP, "vmip"))
        let metadata = MetadataRedirect(
            dhcpServer: try arguments.dhcpServer.map { (text) throws(InputError) in try AgentArgument.ipv4(text, field: "dhcpSvr") },
            hostIP: try AgentArgument.ipv4(try arguments.required(arguments.hostIP, "hostIp"), field: "hostIp"),
            hostMAC: try AgentArgument.mac(try arguments.required(arguments.hostMAC, "hostMacAddr"), field: "hostMacAddr"))
        var (host, _) = store.load(name)
        guard let previous = try host.vms.first(where: { $0.name == name }) ?? adopted(name, id: nil, nic: nil),
              let index = previous.nics.firstIndex(where: { $0.vif == vif }) else {
            throw AgentError("post_default_network_rules \(name): no default rules for vif \(vif) (run default_network_rules first)")
        }
        var vm = previous
        vm.nics[index].metadata = metadata
        host.replace(vm)
        try apply(host, name, previous: previous)
        try writeLog(RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: ip.description, domainID: domainID(name),
                             signature: "_initial_", sequence: "-1"))
        try record(vm, host)
    }

    private func addNetworkRules(_ arguments: AgentArguments) throws -> Outcome {
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
        var (host, _) = store.load(name)
        let previous = host.vms.first { $0.name == name }
        // The script's "already programmed" check: nothing changed since the last log.
        if previous != nil, let logged = try readLog(name), logged == log { return Outcome(warnings: skipped) }
        let id = try arguments.id
        var vm = try previous ?? adopted(name, id: id, nic: nic) ?? VirtualMachine(name: name, id: id, nics: [nic])
        vm.rules = rules
        if !vm.nics.contains(where: { $0.vif == nic.vif }) { vm.nics.append(nic) }
        try addBridge(nic.bridge, to: &host)
        host.replace(vm)
        try apply(host, name, previous: previous, ebtablesUnchanged: true)
        try writeLog(log)
        try record(vm, host)
        return Outcome(warnings: skipped)
    }

    private func secondaryIP(_ arguments: AgentArguments) throws {
        let name = try arguments.name
        let mac = try AgentArgument.mac(try arguments.required(arguments.vmMAC, "vmmac"))
        let addresses = try AgentArgument.secondaryIPs(try arguments.required(arguments.secondaryIPs, "nicsecips"))
        let action = try AgentArgument.action(try arguments.required(arguments.action, "action"))
        var (host, _) = store.load(name)
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
        try apply(host, name, previous: previous)
        try record(vm, host)
    }

    private func destroy(_ arguments: AgentArguments) throws {
        let name = try arguments.name
        let vif = try arguments.vif.map { (text) throws(InputError) in try InterfaceName(text, field: "vif") }
        var (host, _) = store.load(name)
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
            try apply(host, name, previous: previous, extraVIFs: vif.map { [$0.rawValue] } ?? [])
            try record(vm, host)
            return
        }
        host.vms.removeAll { $0.name == name }
        try apply(host, name, previous: previous, extraVIFs: vif.map { [$0.rawValue] } ?? [])
        try store.remove(name)
        try Files.remove(logPath(name, "log"))
        try Files.remove(logPath(name, "ip"))
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

    private func apply(_ host: HostState, _ name: VMName, previous: VirtualMachine?, extraVIFs: [String] = [],
                       ebtablesUnchanged: Bool = false) throws {
        let current = host.vms.first { $0.name == name }
        let vifs = Set(((previous?.nics ?? []) + (current?.nics ?? [])).map(\.vif.rawValue) + extraVIFs)
        let scope = Scope.vm(name, vifs: vifs)
        let skipEbtables = ebtablesUnchanged && previous != nil && previous?.nics == current?.nics
        let report = try Applier().apply(scope: scope, ebtables: !skipEbtables) {
            Renderer.render(host, layout: configuration.layout, scope: scope)
        }
        log(report, for: name.rawValue)
    }

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
    private func record(_ vm: VirtualMachine, _ host: HostState) throws {
        let annotations = StateStore.Annotations(layout: configuration.layout.rawValue, ruleLog: try Files.read(logPath(vm.name, "log")),
                                                 secondaryIPLog: try Files.read(logPath(vm.name, "ip")))
        try store.save(vm, hostBridges: host.bridges, annotations: annotations)
    }

    func libvirt() throws(NetfilterError) -> LibvirtClient { try LibvirtClient(uri: configuration.libvirtURI) }

    /// The running domain's id as the script logs it: the id, `-1` when
    /// the domain is defined but not running, `None` when libvirt has no such domain.
    func domainID(_ name: VMName) throws -> String {
        guard let domain = try libvirt().domain(named: name.rawValue) else { return "None" }
        return domain.id.map(String.init) ?? "-1"
    }

    func logPath(_ name: VMName, _ suffix: String) -> String { "\(configuration.runDirectory)/\(name.rawValue).\(suffix)" }

    private func writeLog(_ log: RuleLog) throws {
        try Files.makeDirectory(configuration.runDirectory)
        try Files.write(log.line, to: logPath(try VMName(log.vmName), "log"))
    }

    private func readLog(_ name: VMName) throws -> RuleLog? {
        try Files.read(logPath(name, "log")).flatMap(RuleLog.init(parsing:))
    }
}

extension HostState {
    /// Puts `vm` in place of the VM of the same name, or at the end.
    mutating func replace(_ vm: VirtualMachine) {
        if let index = vms.firstIndex(where: { $0.name == vm.name }) { vms[index] = vm } else { vms.append(vm) }
    }
}
