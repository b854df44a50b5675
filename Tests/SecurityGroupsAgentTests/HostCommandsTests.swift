import Foundation
import Testing
@testable import SecurityGroupsAgent
import SecurityGroupsCore
import SecurityGroupsKernel

/// The commands about the whole host, each branch, over an in-memory host.
@Suite struct HostCommandsTests {
    typealias H = AgentHarness

    @Test func canBridgeFirewallCleansUpAndChecksItsArgument() throws {
        let h = try H(domains: [H.vm8])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        #expect(try h.run(.canBridgeFirewall, "--privnic cloudbr1") == Agent.Outcome())
        #expect(h.exists("run") && !h.host.text.iptables.contains("i-2-7"))
        let error = try #require(try h.failure(.canBridgeFirewall, "--privnic eth0;reboot"))
        #expect(error.kind == .badInput && error.description.contains("privnic"))
        h.host.ebtablesTools = false
        #expect(try h.run(.canBridgeFirewall, "--privnic=") == Agent.Outcome(output: "no ebtables on your host machine\n", status: 2))
    }

    @Test func cleanupRemovesRecordedAndUnrecordedDeadGuestsOnly() throws {
        var stopped = H.vm8
        stopped.running = false
        let h = try H(domains: [H.vm7, stopped])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.defaultNetworkRules, H.defaultRules(8))
        // A guest the script programmed that libvirt no longer knows.
        let nic = NIC(vif: try InterfaceName("vnet9", field: "v"), bridge: try InterfaceName("cloudbr0", field: "b"),
                      mac: MACAddress("02:00:00:00:00:09"), ipv4: IPv4Address("10.1.0.9"))
        let script = HostState(bridges: [Bridge(name: nic.bridge, uplink: nil)],
                               vms: [VirtualMachine(name: try VMName("i-2-9-VM"), id: 9, nics: [nic])])
        _ = try h.host.apply(ApplyOptions()) { Renderer.render(script, layout: .classic, scope: .vm(try VMName("i-2-9-VM"), vifs: ["vnet9"])) }
        try h.run(.cleanup)
        let text = h.host.text
        #expect(text.iptables.contains("i-2-7-def"))
        #expect(!text.iptables.contains("i-2-8") && !text.iptables.contains("i-2-9") && !text.ebtables.contains("vnet9"))
        #expect(!h.exists("state/i-2-8-VM.json") && !h.exists("run/i-2-8-VM.log") && h.exists("state/i-2-7-VM.json"))
        let transactions = h.host.transactions.count
        try h.run(.cleanup)
        #expect(h.host.transactions.count == transactions)
    }

    @Test func ruleLogsOfRunningGuestsJoined() throws {
        var stopped = H.vm8
        stopped.running = false
        let h = try H(domains: [H.vm7, stopped, H.Domain(name: "r-4-VM")])
        #expect(try h.run(.ruleLogs).output == "\n")
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.defaultNetworkRules, H.defaultRules(8))
        #expect(try h.run(.ruleLogs).output == "i-2-7-VM,7,10.1.0.7,\(h.id("i-2-7-VM")),_initial_,-1\n")
    }

    @Test(arguments: Layout.iptablesLayouts) func verifyPassesOnWhatTheCommandsLeft(layout: Layout) throws {
        let h = try H(layout: layout, domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7, extra: "--nicsecips 10.1.0.70;"))
        try h.run(.addNetworkRules, H.addRules(7, rules: "I:tcp;22;22;0.0.0.0/0,NEXT;"))
        let verify = "--vmname i-2-7-VM --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07 --vif vnet7 --brname cloudbr0 --nicsecips 10.1.0.70;"
        #expect(try h.run(.verify, verify) == Agent.Outcome())
    }

    @Test func verifyNamesTheFirstMissingPieceAsTheScriptDoes() throws {
        let h = try H(layout: .classic, domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        let verify = "--vmname i-2-7-VM --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07 --vif vnet7 --brname cloudbr0"
        #expect(try h.run(.verify, "--vmname i-2-7-VM").status == 1)
        #expect(try h.run(.verify, verify + " --nicsecips 10.1.0.99;") == Agent.Outcome(output: "vm ip 10.1.0.99 is not found\n", status: 2))
        let arp = try #require(h.host.ebtables["i-2-7-VM-in-ips"])
        h.host.ebtables["i-2-7-VM-in-ips"] = Array(arp.dropFirst())
        #expect(try h.run(.verify, verify) == Agent.Outcome(output: "Cannot find rule '-A i-2-7-VM-in-ips -p ARP -s 02:00:00:00:00:07 --arp-ip-src 10.1.0.7 --arp-mac-src 02:00:00:00:00:07 -j RETURN'\n", status: 5))
        h.host.tables[.ipv4]![.filter]!["i-2-7-def"]!.removeFirst()
        #expect(try h.run(.verify, verify) == Agent.Outcome(output: "Cannot find rule '-A i-2-7-def -m state --state RELATED,ESTABLISHED -j ACCEPT'\n", status: 4))
        h.host.tables[.ipv4]![.filter]!["BF-cloudbr0"]!.removeFirst()
        #expect(try h.run(.verify, verify).status == 3)
    }

    @Test func verifyFindsTheBridgeAndVifFromLibvirt() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        // The test driver names the interface testnetN: not the vif programmed.
        let outcome = try h.run(.verify, "--vmname i-2-7-VM --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07")
        #expect(outcome.status == 4 && outcome.output.contains("testnet"))
        #expect(try h.run(.verify, "--vmname i-2-7-VM --vmip 10.1.0.7 --vmmac 02:00:00:00:00:99") == Agent.Outcome(output: "Cannot find bridge\n", status: 1))
    }
}
