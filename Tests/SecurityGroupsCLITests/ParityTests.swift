import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// The agent's command sequences of the reference scenarios, replayed with
/// our binary: the kernel, the rule logs and what the agent reads on stdout
/// end up as with the script.
@Suite struct ParityTests {
    /// The recorded scenarios; a missing directory stops the run, an empty
    /// one fails `everyRecordingIsThere` (a parameterised test without
    /// arguments would only be skipped).
    static let scenarios: [String] = try! FileManager.default.contentsOfDirectory(atPath: ScenarioReplay.fixtures.path).sorted()

    @Test func everyRecordingIsThere() {
        #expect(Self.scenarios.count == 16, "\(Self.scenarios)")
    }

    @Test(arguments: scenarios)
    func classicMatchesTheScript(scenario: String) throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run(scenario)
        let recorded = try ScenarioReplay.recorded(scenario)
        try #require(recorded.count == replay.results.count, "\(recorded.count) recorded commands, \(replay.results.count) replayed")
        for (result, script) in zip(replay.results, recorded) {
            #expect(result.command == script.command)
            // verify_network_rules: see verifyAnswersLikeTheScriptButReadsNFTablesMACs.
            guard !result.command.contains("verify_network_rules") else { continue }
            #expect(result.status == script.status, "\(result.command): exit \(result.status), the script's \(script.status)")
            if result.command.contains("get_rule_logs_for_vms") {
                let entries = { (text: String) in
                    text.trimmingCharacters(in: .newlines).split(separator: ";").sorted().joined(separator: ";")
                }
                #expect(entries(result.stdout) == entries(script.stdout), "\(result.command) printed \(result.stdout)")
            } else {
                #expect(result.stdout == script.stdout, "\(result.command) printed \(result.stdout)")
            }
        }
        let final = try KernelDumps.read(replay.namespace)
        let expected = try GoldenHosts.scriptDumps(scenario)
        #expect(final == expected, "\(final.difference(from: expected))")
        for (label, dumps) in replay.snapshots {
            let snapshot = try GoldenHosts.scriptDumps("\(scenario)@\(label)")
            #expect(dumps == snapshot, "snapshot \(label): \(dumps.difference(from: snapshot))")
        }
        let expectedLogs = try String(contentsOf: ScenarioReplay.fixtures.appendingPathComponent(scenario).appendingPathComponent("runlogs.txt"), encoding: .utf8)
        #expect(try replay.ruleLogs() == expectedLogs)
    }

    /// verify_network_rules answers like the script (exit 4 and the same
    /// line when the vif libvirt reports has no rules), except that it
    /// accepts MAC addresses as ebtables-nft prints them: the script wants
    /// `2:0:0:0:0:7` and so fails correct rules on an nf_tables host (exit 5).
    @Test func verifyAnswersLikeTheScriptButReadsNFTablesMACs() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("verify")
        let verifies = replay.results.filter { $0.command.contains("verify_network_rules") }
        #expect(verifies.count == 2)
        #expect(verifies[0].status == 0 && verifies[0].stdout.isEmpty)
        #expect(verifies[1].status == 4)
        #expect(verifies[1].stdout == "Cannot find rule '-A BF-cloudbr0-IN -m physdev --physdev-in testnet0 --physdev-is-bridged -j i-2-7-def'\n")
        // Every command is in the agent log, like the script's debug log.
        let log = try replay.agentLog()
        #expect(log.contains(" - Executing command: default_network_rules --vmname i-2-7-VM --vmid 7"))
        #expect(log.contains(" - i-2-7-VM: "))
        #expect(log.contains(" - verify_network_rules done, exit 4: Cannot find rule"))
    }

    /// Destroying a system VM removes its chain too; the script removes only
    /// the bridge chains' jumps and leaves the chain and its rule log behind.
    @Test func destroyingASystemVMLeavesNothing() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("systemvm")
        let result = try replay.agent(["destroy_network_rules_for_vm", "--vmname", "r-5-VM"])
        #expect(result.status == 0, "\(result.stderr)")
        let filter = try KernelDumps.read(replay.namespace).iptables["filter"] ?? ""
        #expect(!filter.contains("r-5-VM"))
        #expect(filter.contains("-A BF-cloudbr0 -m physdev --physdev-out eth0 --physdev-is-bridged -j ACCEPT"))
        #expect(try replay.ruleLogs().isEmpty)
    }

    /// Destroying one NIC removes its IPv6 rules and addresses too; the
    /// script removes only the IPv4 side.
    @Test func destroyingANICRemovesBothFamilies() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("two-nics")
        let result = try replay.agent(["destroy_network_rules_for_vm", "--vmname", "i-2-7-VM", "--vmip", "10.1.1.7",
                                       "--vmmac", "02:00:00:00:01:07", "--vif", "vnet17", "--nicsecips", "0;"])
        #expect(result.status == 0, "\(result.stderr)")
        let dumps = try KernelDumps.read(replay.namespace)
        for table in [dumps.iptables["filter"] ?? "", dumps.ip6tables["filter"] ?? "", dumps.ebtables] {
            #expect(!table.contains("vnet17"))
            #expect(table.contains("vnet7"))
        }
        #expect(!dumps.ipset.contains("add i-2-7-VM-6 fe80::ff:fe00:107"))
        #expect(!dumps.ipset.contains("add i-2-7-VM 10.1.1.7"))
        #expect(dumps.ipset.contains("add i-2-7-VM 10.1.0.7"))
    }

    /// In the notrack layout the same command sequences reach the script's
    /// state changed by the documented differences (NotrackOracle).
    @Test(arguments: scenarios)
    func notrackIsTheScriptsStatePlusTheDocumentedDifferences(scenario: String) throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.run(scenario)
        let final = try KernelDumps.read(replay.namespace)
        let expected = try GoldenHosts.expected(scenario, .notrack)
        #expect(final == expected, "\(final.difference(from: expected))")
    }
}
