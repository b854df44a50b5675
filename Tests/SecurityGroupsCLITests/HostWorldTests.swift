import Foundation
import Testing
import TestSupport

/// Never two rule sets for one VM: on a host whose CloudStack rules live in
/// the netfilter the configuration does not choose, or whose kernel lacks
/// the one it does, every agent command refuses with one line before it
/// changes anything; `auto` follows the rules.
@Suite struct HostWorldTests {
    /// The ten commands, with arguments the agent would send for the
    /// scenario's VM (get_rule_logs_for_vms and cleanup_rules take none).
    static let commands: [[String]] = {
        let nic = ["--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmmac", "02:00:00:00:00:07",
                   "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "0;"]
        return [
            ["can_bridge_firewall", "--privnic", "eth0"],
            ["default_network_rules"] + nic + ["--isFirstNic"],
            ["default_network_rules"] + nic + ["--isFirstNic", "--check"],
            ["default_network_rules_systemvm", "--vmname", "r-5-VM", "--localbrname", "cloud0"],
            ["post_default_network_rules"] + nic + ["--dhcpSvr", "10.1.0.1", "--hostIp", "10.1.0.2", "--hostMacAddr", "02:00:00:00:ff:01"],
            ["add_network_rules"] + nic + ["--sig", "abc", "--seq", "9", "--rules", "I:tcp;80;80;0.0.0.0/0,NEXT;"],
            ["network_rules_vmSecondaryIp", "--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:07", "--nicsecips", "10.1.0.99", "--action=-A"],
            ["destroy_network_rules_for_vm", "--vmname", "i-2-7-VM", "--vif", "vnet7"],
            ["cleanup_rules"],
            ["get_rule_logs_for_vms"],
            ["verify_network_rules"] + nic,
        ]
    }()

    /// The script programmed this host through the other netfilter (for a
    /// legacy run, iptables-nft as Debian 12's `iptables`; for an nf_tables
    /// run, iptables-legacy) than the one configured.
    @Test(arguments: commands)
    func scriptRulesInTheOtherNetfilterRefuseEveryCommand(command: [String]) throws {
        let replay = try ScenarioReplay(layout: .notrack)
        let other = TestNetfilter.current.other
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:07")])
        try replay.loadScriptState("v4-basic", through: other)
        let before = try Self.everything(replay)
        let result = try replay.agent(command)
        #expect(result.status == 1)
        let (world, chain) = other == .nftables ? ("nf_tables", "ip filter BF-cloudbr0") : ("legacy x_tables", "iptables filter BF-cloudbr0")
        #expect(result.stderr.hasPrefix("Error: host check netfilter: CloudStack's rules on this host are in \(world) ("), "\(result.stderr)")
        #expect(result.stderr.contains(chain))
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stdout.isEmpty)
        #expect(try Self.everything(replay) == before)
        #expect(try replay.namespace.run(TestNetfilter.current.iptablesSave).isEmpty, "\(TestNetfilter.current) was touched")
    }

    /// With `netfilter = auto` each command follows the script's rules into
    /// the netfilter that holds them and leaves the other one alone.
    @Test(arguments: TestNetfilter.allCases)
    func autoFollowsTheScriptsRules(into netfilter: TestNetfilter) throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.configure(layout: .notrack, netfilter: "auto")
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:07")])
        try replay.loadScriptState("v4-basic", through: netfilter)
        let result = try replay.agent(["add_network_rules", "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7",
                                       "--vmmac", "02:00:00:00:00:07", "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "0;",
                                       "--sig", "abc", "--seq", "9", "--rules", "I:tcp;80;80;0.0.0.0/0,NEXT;"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try replay.namespace.run(netfilter.iptablesSave).contains(":sg-in - [0:0]"), "notrack's chains are in \(netfilter)")
        #expect(try replay.namespace.run(netfilter.other.iptablesSave).isEmpty, "\(netfilter.other) was touched")
    }

    /// What the kernel lacks (Tests/KernelWithout, seccomp), and the refusal:
    /// legacy x_tables (libiptc's socket options answer ENOPROTOOPT, as
    /// without the modules) where `netfilter = legacy`, or a way to ask
    /// nf_tables (the netlink socket is refused: the check fails closed).
    static let missingParts: [(part: String, setting: String, error: String)] = [
        ("legacy-xtables", "legacy", "this kernel has no legacy x_tables (ip_tables: Protocol not available, "
            + "ip6_tables: Protocol not available), which netfilter = legacy programs; nothing was changed"),
        ("nf-netlink", "auto", "cannot tell whether nf_tables holds CloudStack's rules "
            + "(netlink open nf_tables: Permission denied); nothing was changed"),
    ]

    @Test(arguments: 0..<missingParts.count, commands)
    func aKernelLackingAPartRefusesEveryCommand(missing: Int, command: [String]) throws {
        let (part, setting, error) = Self.missingParts[missing]
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.configure(layout: .notrack, netfilter: setting)
        let before = try Self.everything(replay)
        let result = try replay.agent(command, wrapper: [Self.kernelWithout, part])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: host check netfilter: \(error)\n", "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try Self.everything(replay) == before)
    }

    /// Without legacy x_tables, `auto` programs nf_tables.
    @Test func autoWithoutLegacyXtablesProgramsNFTables() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.configure(layout: .classic, netfilter: "auto")
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:07")])
        let result = try replay.agent(Self.commands[1], wrapper: [Self.kernelWithout, "legacy-xtables"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try replay.namespace.run(TestNetfilter.nftables.iptablesSave).contains(":i-2-7-VM - [0:0]"))
    }

    /// Runs a command as on a kernel that lacks a part (Tests/KernelWithout).
    static let kernelWithout = BinaryRunner.binary.deletingLastPathComponent().appendingPathComponent("kernel-without").path

    /// Every rule set of the namespace, both iptables worlds (counters
    /// zeroed: traffic on the ports moves them), and the agent's files.
    static func everything(_ replay: ScenarioReplay) throws -> [String] {
        try TestNetfilter.allCases.map { try KernelDumps.read(replay.namespace, netfilter: $0).description }
            + [try replay.ruleLogs(), try replay.stateFiles()]
    }
}
