public import ArgumentParser
import SecurityGroupsCore

extension Layout: ExpressibleByArgument {}

/// `security-groups plan --host FILE`: prints the complete ruleset of a host.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the full ruleset of a host described in a JSON file."
    )

    @OptionGroup var options: HostOptions

    func run() throws {
        let ruleset = Renderer.render(try options.load(), layout: options.layout)
        print(RulesetText(ruleset).sections(header: "layout: \(options.layout.rawValue)"), terminator: "")
    }
}
