import Foundation
import Testing
import TestSupport

/// Never two rule sets for one VM: on a host whose CloudStack rules live in
/// nf_tables, or whose kernel has no legacy x_tables, every agent command
/// refuses with one line before it changes anything.
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

    /// The script programmed this host through iptables-nft (Debian 12's
    /// `iptables`): its chains are in nf_tables, none in legacy x_tables.
    @Test(arguments: commands)
    func scriptRulesInNFTablesRefuseEveryCommand(command: [String]) throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:07")])
        try replay.loadScriptState("v4-basic", through: .nfTables)
        let before = try Self.everything(replay)
        let result = try replay.agent(command)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("Error: host check netfilter: CloudStack's rules on this host are in nf_tables ("), "\(result.stderr)")
        #expect(result.stderr.contains("ip filter BF-cloudbr0"))
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stdout.isEmpty)
        #expect(try Self.everything(replay) == before)
        #expect(try replay.namespace.run("/usr/sbin/iptables-legacy-save").isEmpty, "legacy x_tables was touched")
    }

    /// What the kernel lacks (Tests/KernelWithout, seccomp), and the refusal:
    /// legacy x_tables (libiptc's socket options answer ENOPROTOOPT, as
    /// without the modules), or a way to ask nf_tables (the netlink socket is
    /// refused: the check fails closed).
    static let missingParts: [(part: String, error: String)] = [
        ("legacy-xtables", "this kernel has no legacy x_tables (ip_tables: Protocol not available, "
            + "ip6_tables: Protocol not available), the only netfilter this version programs; nothing was changed"),
        ("nf-netlink", "cannot tell whether nf_tables holds CloudStack's rules "
            + "(netlink open nf_tables: Permission denied); nothing was changed"),
    ]

    @Test(arguments: 0..<missingParts.count, commands)
    func aKernelLackingAPartRefusesEveryCommand(missing: Int, command: [String]) throws {
        let (part, error) = Self.missingParts[missing]
        let replay = try ScenarioReplay(layout: .notrack)
        let before = try Self.everything(replay)
        let result = try replay.agent(command, wrapper: [Self.kernelWithout, part])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: host check netfilter: \(error)\n", "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try Self.everything(replay) == before)
    }

    /// Runs a command as on a kernel that lacks a part (Tests/KernelWithout).
    static let kernelWithout = BinaryRunner.binary.deletingLastPathComponent().appendingPathComponent("kernel-without").path

    /// Every rule set of the namespace, both iptables worlds (counters
    /// zeroed: traffic on the ports moves them), and the agent's files.
    static func everything(_ replay: ScenarioReplay) throws -> [String] {
        let namespace = replay.namespace
        let nfTables = KernelDumps(iptables: try namespace.run("/usr/sbin/iptables-nft-save"),
                                   ip6tables: try namespace.run("/usr/sbin/ip6tables-nft-save"), ipset: "", ebtables: "")
        return [try KernelDumps.read(namespace).description, nfTables.description, try replay.ruleLogs(), try replay.stateFiles()]
    }
}
