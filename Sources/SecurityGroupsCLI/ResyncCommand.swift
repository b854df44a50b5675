import ArgumentParser
import Foundation
import SecurityGroupsAgent

/// `security-groups resync`: every recorded VM that libvirt runs, programmed
/// again from the state store in one transaction per table.
struct ResyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Re-program every running VM from recorded state, one commit per table (after a reboot, or to repair drift).",
        discussion: "Uses the agent's configuration (SECURITY_GROUPS_CONFIG). VMs that are gone lose their rules; "
            + "vif names are matched by MAC; rule logs a reboot wiped are written again."
    )

    @Flag(help: "Print what would change; change nothing.")
    var dryRun = false

    func run() throws {
        let summary: ResyncSummary
        do {
            let onTerminal = isatty(STDERR_FILENO) == 1
            summary = try AgentCommandLine.agent().resync(dryRun: dryRun) { step in
                guard onTerminal else { return }
                FileHandle.standardError.write(Data("\r\u{1B}[K\(step)…".utf8))
            }
            if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        } catch {
            throw CLIError("\(error)")
        }
        for problem in summary.problems { FileHandle.standardError.write(Data("Warning: \(problem)\n".utf8)) }
        for warning in summary.report.warnings { FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8)) }
        if dryRun { print(summary.report.changes.isEmpty ? "no changes" : summary.report.lines.joined(separator: "\n")) }
        print(summary.line)
    }
}
