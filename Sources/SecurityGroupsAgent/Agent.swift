import Foundation
public import Logging
import SecurityGroupsCore
public import SecurityGroupsKernel

/// The script's ten commands, each one transaction: record the VM's desired
/// state, render it, apply it in the VM's scope (at most one commit per
/// table), then write the rule logs the management server reads.
public final class Agent {
    public let configuration: AgentConfiguration
    /// The layout commands program: the configured one, or the host's default
    /// (`settleLayout`).
    private(set) var layout: Layout
    /// The kernel and libvirt: every read and change of the host goes through it.
    let host: any HostBackend
    let store: StateStore
    let logger: Logger

    /// An agent for the host this process runs on, or for `host`.
    public init(configuration: AgentConfiguration, logger: Logger, host: (any HostBackend)? = nil) {
        self.configuration = configuration
        layout = configuration.layout
        self.host = host ?? SystemHost(libvirtURI: configuration.libvirtURI, netfilter: configuration.netfilter)
        self.store = StateStore(directory: configuration.stateDirectory)
        self.logger = logger
    }

    /// Where the configuration sets no layout: `native` on an nf_tables host
    /// whose iptables tables hold no CloudStack chains, else `notrack`.
    func settleLayout() throws(NetfilterError) {
        if !configuration.layoutIsSet { layout = try host.defaultLayout() }
    }

    /// Questions about what the kernel holds, asked of `host`.
    var kernel: KernelQuery { KernelQuery(host: host, layout: layout) }

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

        /// Whether it may ask libvirt (domains, their interfaces, their ids
        /// for the rule logs): a destroy never does.
        var asksLibvirt: Bool { self != .destroy }
    }

    /// Carries out commands that arrived together, in order, under the
    /// command lock: each run of consecutive commands that change VMs as
    /// one transaction (`carryOutTogether`), the others alone.
    func carryOut(_ commands: [(Command, AgentArguments)]) -> [Result<Outcome, AgentError>] {
        // libvirt loads meanwhile, for commands that may ask it (after the
        // host check; and never is it left loading when the process ends).
        if commands.contains(where: { $0.0.asksLibvirt }) { host.prepareLibvirt() }
        defer { host.settleLibvirt() }
        do {
            // Before anything changes: never a second rule set beside CloudStack's.
            try settleLayout()
            try host.checkHost(layout: layout)
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
            do {
                let (desired, scope) = (batch.host, try batch.scope(kernel))
                let report = try host.apply(ApplyOptions(ebtables: batch.changesEbtables)) {
                    Renderer.render(desired, layout: layout, scope: scope)
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
                do { try batch.perform(writes[index], resolving: resolvingDomainIDs) } catch { results[index] = .failure(Self.agentError(error)) }
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
            case .verify: result = .success(try verify(arguments))
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
}
