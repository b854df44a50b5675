import Foundation
import Logging
import SecurityGroupsAgent

/// security_group.py's ten commands, with its arguments, run by `Agent` with
/// the configuration of `SECURITY_GROUPS_CONFIG`.
///
/// They are parsed like the script's argparse parser (`AgentArguments`),
/// not through ArgumentParser: the agent starts one process per command, and
/// ArgumentParser's reflection over the script's 19 options took 30% of the
/// CPU time of an `add_network_rules` on a 100-VM host (about 7 ms, perf).
public enum AgentCommandLine {
    /// Runs `arguments` (without the program name) when the first is one of
    /// the script's commands and returns the exit status; nil otherwise.
    public static func run(_ arguments: [String]) -> Int32? {
        guard let name = arguments.first, let command = Agent.Command(rawValue: name) else { return nil }
        let words = Array(arguments.dropFirst())
        if words.contains("--help") || words.contains("-h") {
            print("usage: security-groups \(name) \(AgentArguments.usage)")
            return 0
        }
        do {
            // Refused here when it cannot be parsed, before it waits for the lock.
            do { _ = try AgentArguments(parsing: words) } catch { throw AgentError(error.description, kind: .badInput) }
            let outcome = try agent().submit(command, arguments: words)
            for warning in outcome.warnings { FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8)) }
            print(outcome.output, terminator: "")
            return outcome.status
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            return (error as? AgentError)?.exitStatus ?? 1
        }
    }

    /// A summary for `security-groups --help`.
    static let help = "security_group.py's commands, with its arguments: "
        + Agent.Command.allCases.map(\.rawValue).joined(separator: ", ")
        + " (`security-groups COMMAND --help` lists the arguments)."

    /// An agent with the configuration of `SECURITY_GROUPS_CONFIG`, logging to its `log_file`.
    static func agent() throws -> Agent {
        let configuration = try configuration()
        return Agent(configuration: configuration, logger: Logger(label: "security-groups") { _ in
            FileLogHandler(path: configuration.logFile)
        })
    }

    /// The configuration of `SECURITY_GROUPS_CONFIG` (or the default path; defaults when missing).
    static func configuration() throws -> AgentConfiguration {
        // getenv, not ProcessInfo.environment, which copies the whole environment.
        let path = getenv("SECURITY_GROUPS_CONFIG").map { String(cString: $0) } ?? AgentConfiguration.defaultPath
        guard FileManager.default.fileExists(atPath: path) else { return AgentConfiguration() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AgentError("cannot read configuration \(path)")
        }
        do {
            return try AgentConfiguration(parsing: text, path: path)
        } catch {
            throw AgentError(error.description, kind: .badInput)
        }
    }
}
