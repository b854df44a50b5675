import ArgumentParser
import Foundation
import Logging
import SecurityGroupsAgent

/// The script's arguments; every agent command accepts all of them, as the
/// script's single argparse parser does.
struct AgentOptions: ParsableArguments {
    @Option(name: .customLong("vmname")) var vmName: String?
    @Option(name: .customLong("vmip")) var vmIP: String?
    @Option(name: .customLong("vmip6")) var vmIP6: String?
    @Option(name: .customLong("vmid")) var vmID: String?
    @Option(name: .customLong("vmmac")) var vmMAC: String?
    @Option(name: .customLong("vif")) var vif: String?
    @Option(name: .customLong("sig")) var signature: String?
    @Option(name: .customLong("seq")) var sequence: String?
    @Option(name: .customLong("rules")) var rules: String?
    @Option(name: .customLong("brname")) var bridge: String?
    @Option(name: .customLong("localbrname")) var localBridge: String?
    @Option(name: .customLong("dhcpSvr")) var dhcpServer: String?
    @Option(name: .customLong("hostIp")) var hostIP: String?
    @Option(name: .customLong("hostMacAddr")) var hostMAC: String?
    @Option(name: .customLong("nicsecips")) var secondaryIPs: String?
    @Option(name: .customLong("action")) var action: String?
    @Option(name: .customLong("privnic")) var privateNIC: String?
    @Flag(name: .customLong("isFirstNic")) var isFirstNIC = false
    @Flag(name: .customLong("check")) var check = false

    var arguments: AgentArguments {
        var arguments = AgentArguments()
        arguments.vmName = vmName
        arguments.vmIP = vmIP
        arguments.vmIP6 = vmIP6
        arguments.vmID = vmID
        arguments.vmMAC = vmMAC
        arguments.vif = vif
        arguments.signature = signature
        arguments.sequence = sequence
        arguments.rules = rules
        arguments.bridge = bridge
        arguments.localBridge = localBridge
        arguments.dhcpServer = dhcpServer
        arguments.hostIP = hostIP
        arguments.hostMAC = hostMAC
        arguments.secondaryIPs = secondaryIPs
        arguments.action = action
        arguments.privateNIC = privateNIC
        arguments.isFirstNIC = isFirstNIC
        arguments.check = check
        return arguments
    }
}

/// One of the script's commands, run by `Agent` with the configuration of
/// `SECURITY_GROUPS_CONFIG`.
protocol AgentSubcommand: ParsableCommand {
    static var command: Agent.Command { get }
    var options: AgentOptions { get }
}

extension AgentSubcommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: command.rawValue, abstract: "security_group.py's \(command.rawValue), in-process.")
    }

    func run() throws {
        let outcome: Agent.Outcome
        do {
            let configuration = try loadConfiguration()
            let logger = Logger(label: "security-groups") { _ in FileLogHandler(path: configuration.logFile) }
            outcome = try Agent(configuration: configuration, logger: logger).run(Self.command, options.arguments)
        } catch {
            throw CLIError("\(error)")
        }
        print(outcome.output, terminator: "")
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }

    private func loadConfiguration() throws -> AgentConfiguration {
        let path = ProcessInfo.processInfo.environment["SECURITY_GROUPS_CONFIG"] ?? AgentConfiguration.defaultPath
        guard FileManager.default.fileExists(atPath: path) else { return AgentConfiguration() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AgentError("cannot read configuration \(path)")
        }
        do {
            return try AgentConfiguration(parsing: text, path: path)
        } catch {
            throw AgentError(error.description)
        }
    }
}

struct CanBridgeFirewall: AgentSubcommand {
    static let command = Agent.Command.canBridgeFirewall
    @OptionGroup var options: AgentOptions
}

struct DefaultNetworkRules: AgentSubcommand {
    static let command = Agent.Command.defaultNetworkRules
    @OptionGroup var options: AgentOptions
}

struct DefaultNetworkRulesSystemVM: AgentSubcommand {
    static let command = Agent.Command.defaultNetworkRulesSystemVM
    @OptionGroup var options: AgentOptions
}

struct PostDefaultNetworkRules: AgentSubcommand {
    static let command = Agent.Command.postDefaultNetworkRules
    @OptionGroup var options: AgentOptions
}

struct AddNetworkRules: AgentSubcommand {
    static let command = Agent.Command.addNetworkRules
    @OptionGroup var options: AgentOptions
}

struct NetworkRulesSecondaryIP: AgentSubcommand {
    static let command = Agent.Command.secondaryIP
    @OptionGroup var options: AgentOptions
}

struct DestroyNetworkRules: AgentSubcommand {
    static let command = Agent.Command.destroy
    @OptionGroup var options: AgentOptions
}

struct CleanupRules: AgentSubcommand {
    static let command = Agent.Command.cleanup
    @OptionGroup var options: AgentOptions
}

struct RuleLogs: AgentSubcommand {
    static let command = Agent.Command.ruleLogs
    @OptionGroup var options: AgentOptions
}

struct VerifyNetworkRules: AgentSubcommand {
    static let command = Agent.Command.verify
    @OptionGroup var options: AgentOptions
}
