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
        guard options.layout == .native else {
            print(RulesetText(ruleset).sections(header: "layout: \(options.layout.rawValue)"), terminator: "")
            return
        }
        do {
            print("# layout: native\n" + (try NativeRuleset(ruleset)).text, terminator: "")
        } catch {
            throw CLIError(error.description)
        }
    }
}
