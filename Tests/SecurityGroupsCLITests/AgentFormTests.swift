import Foundation
import Testing
import TestSupport

/// What the agent sends that the script tolerates, beyond the recorded
/// scenario `agent-forms` (which ParityTests replays against the script).
@Suite struct AgentFormTests {
    /// A CIDR that is none (`null/32`) is left out with one warning line on
    /// stderr, which the agent logs; the exit stays 0 and the rest applies.
    @Test func unusableCIDRsAreSkippedWithAWarning() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("agent-forms")
        let result = try replay.agent([
            "add_network_rules", "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--sig", "abc", "--seq", "3",
            "--vmmac", "02:00:00:00:00:07", "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "",
            "--rules", "I:tcp;443;443;null/32,10.9.0.0/16,NEXT;",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "Warning: rules: skipped 'null/32' in 'I:tcp;443;443;10.9.0.0/16,null/32,NEXT;': not a CIDR, allows nothing\n")
        let filter = try KernelDumps.read(replay.namespace).iptables["filter"] ?? ""
        #expect(filter.contains("-A i-2-7-VM -s 10.9.0.0/16 -p tcp -m tcp --dport 443 -m state --state NEW -j ACCEPT"))
        #expect(!filter.contains("--dport 22 "))
        #expect(try replay.agentLog().contains("rules: skipped 'null/32'"))
    }

    /// An unplugged NIC without IPv4 (no `--vmip`): only that NIC's rules go.
    /// The script destroys the whole VM then, leaving its other NICs without rules.
    @Test func unpluggingANICWithoutIPv4RemovesOnlyThatNIC() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("agent-forms")
        let result = try replay.agent(["destroy_network_rules_for_vm", "--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:01:07",
                                       "--vif", "vnet17", "--nicsecips", ""])
        #expect(result.status == 0, "\(result.stderr)")
        let dumps = try KernelDumps.read(replay.namespace)
        for table in [dumps.iptables["filter"] ?? "", dumps.ip6tables["filter"] ?? "", dumps.ebtables] {
            #expect(!table.contains("vnet17"))
            #expect(table.contains("vnet7 "))
        }
        #expect(dumps.ipset.contains("add i-2-7-VM 10.1.0.7") && !dumps.ipset.contains("add i-2-7-VM 10.1.1.7"))
        #expect(try replay.ruleLogs().contains("== i-2-7-VM.log"))
    }

    /// `can_bridge_firewall --privnic ''` (no public NIC found) succeeds:
    /// a failure would make the agent disable security groups on the host.
    @Test func emptyPrivateNICIsAccepted() throws {
        let replay = try ScenarioReplay(layout: .notrack)
        let result = try replay.agent(["can_bridge_firewall", "--privnic", ""])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty)
    }
}
