public import ArgumentParser

/// The `security-groups` command line.
public struct SecurityGroupsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "security-groups",
        abstract: "CloudStack KVM security groups, programmed in-process.",
        discussion: AgentCommandLine.help,
        subcommands: [PlanCommand.self, ApplyCommand.self, ShowCommand.self, ResyncCommand.self, StatusCommand.self, DemoCommand.self, VersionCommand.self]
    )

    public init() {}
}
