public import ArgumentParser

/// The `security-groups` command line.
public struct SecurityGroupsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "security-groups",
        abstract: "CloudStack KVM security groups, programmed in-process.",
        subcommands: [
            PlanCommand.self, ApplyCommand.self, ShowCommand.self, VersionCommand.self,
            // security_group.py's commands, with its arguments:
            CanBridgeFirewall.self, DefaultNetworkRules.self, DefaultNetworkRulesSystemVM.self,
            PostDefaultNetworkRules.self, AddNetworkRules.self, NetworkRulesSecondaryIP.self,
            DestroyNetworkRules.self, CleanupRules.self, RuleLogs.self, VerifyNetworkRules.self,
        ]
    )

    public init() {}
}
