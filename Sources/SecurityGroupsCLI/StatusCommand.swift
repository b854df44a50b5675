import ArgumentParser
import Foundation
import SecurityGroupsAgent

/// `security-groups status`: each recorded VM against the kernel, and the host's totals.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each recorded VM (layout, tracked per family, rules, in sync) and the host's totals; change nothing."
    )

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let status: HostStatus
        do {
            status = try AgentCommandLine.agent().status()
        } catch {
            throw CLIError("\(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
            return
        }
        print(Self.text(status), terminator: "")
    }

    static func text(_ status: HostStatus) -> String {
        let header = ["VM", "running", "layout", "IPv4", "IPv6", "rules", "in sync"]
        let rows = status.vms.map { vm in
            [vm.name, vm.running ? "yes" : "no", vm.layout ?? "-", vm.ipv4, vm.ipv6, vm.rules.map(String.init) ?? "-",
             vm.inSync.map { $0 ? "yes" : "NO" } ?? "-"]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: " +$", with: "", options: .regularExpression) + "\n"
        }
        var text = line(header) + rows.map(line).joined()
        let tables = status.tables.keys.sorted().map { "\($0) \(status.tables[$0]!)" }.joined(separator: ", ")
        text += "layout \(status.layout); rules: \(tables); sets: \(status.sets); conntrack entries: "
            + (status.conntrackEntries.map(String.init) ?? "-") + "\n"
        text += status.pendingChanges == 0 ? "in sync\n"
            : "\(status.pendingChanges) changes pending (`security-groups resync --dry-run` lists them)"
                + (status.hostInSync ? "" : "; shared objects differ too") + "\n"
        for problem in status.problems { text += "problem: \(problem)\n" }
        return text
    }
}
