public import ArgumentParser
import Foundation
import SecurityGroupsCore

extension Layout: ExpressibleByArgument {}

/// `security-groups plan --host FILE`: prints the complete ruleset of a host.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the full ruleset of a host described in a JSON file."
    )

    @Option(name: .long, help: "The host description (JSON; see README).")
    var host: String

    @Option(name: .long, help: "Rule layout: notrack (default) or classic.")
    var layout: Layout = .notrack

    func run() throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: host))
        } catch {
            throw CLIError("cannot read host file \(host): \(error.localizedDescription)")
        }
        let state: HostState
        do {
            state = try HostFile.decode(data)
        } catch {
            throw CLIError(error.description)
        }
        print(PlanText.render(state, layout: layout), terminator: "")
    }
}

/// The text `plan` prints: each text form under a header naming the tool
/// whose save format it is.
enum PlanText {
    static func render(_ host: HostState, layout: Layout) -> String {
        let text = RulesetText(Renderer.render(host, layout: layout))
        return """
            # layout: \(layout.rawValue)
            # iptables-save
            \(text.iptables)# ip6tables-save
            \(text.ip6tables)# ipset save
            \(text.ipset)# ebtables-save
            \(text.ebtables)
            """
    }
}
