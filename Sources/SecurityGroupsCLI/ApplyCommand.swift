import ArgumentParser
import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsAgent

/// `security-groups apply --host FILE`: makes the kernel hold the host's ruleset.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Bring the kernel to the ruleset of a host: one commit per changed table.",
        discussion: "Touches only CloudStack's chains, rules and sets. Prints one summary line, or with --dry-run every change it would make."
    )

    @OptionGroup var options: HostOptions

    @Option(name: .long, help: "Change only this VM's own objects (and what the host shares), not other VMs'.")
    var vm: String?

    @Flag(name: .long, help: "Print the changes instead of making them.")
    var dryRun = false

    @Flag(name: .long, help: "Also print how long each phase took.")
    var verbose = false

    @Flag(name: .long, help: "Program legacy x_tables even where iptables is the nf_tables variant holding CloudStack rules.")
    var allowNftHost = false

    func run() throws {
        let host = try options.load()
        let name: VMName?
        do {
            name = try vm.map { (text) throws(InputError) in try VMName(text, field: "vm") }
        } catch {
            throw CLIError(error.description)
        }
        let report: ApplyReport
        do {
            report = try AgentCommandLine.agent().apply(host, layout: options.layout, vm: name, dryRun: dryRun, allowNFTables: allowNftHost)
        } catch {
            throw CLIError("\(error)")
        }
        if dryRun {
            print(report.changes.isEmpty ? "no changes" : report.lines.joined(separator: "\n"))
        } else if report.isEmpty {
            print("no changes")
        } else {
            let tables = report.committedTables.isEmpty ? "no iptables commit" : "committed \(report.committedTables.joined(separator: ", "))"
            let retried = report.retriedCommits > 0 ? ", \(report.retriedCommits) commit(s) retried" : ""
            print("applied \(report.changeCount) changes: \(tables)\(retried)")
        }
        for warning in report.warnings { FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8)) }
        if verbose {
            for (phase, seconds) in report.timings { print("  \(phase): \(String(format: "%.3f", seconds)) s") }
        }
    }
}
