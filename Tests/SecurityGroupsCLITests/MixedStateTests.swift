import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// Our commands on a host whose rules the script wrote (its dumps loaded
/// with the restore tools, its rule logs in place, our state store empty).
@Suite struct MixedStateTests {
    static let vm7 = [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:07")]

    /// The agent's arguments of the scenario's first VM, as in cmds.txt.
    static let v4Basic = [
        "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmmac", "02:00:00:00:00:07",
        "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "0;",
    ]
    static let v4BasicRules = "I:tcp;22;22;0.0.0.0/0,NEXT;I:tcp;80;443;0.0.0.0/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;"

    @Test func destroyReachesWhatTheScriptsDestroyLeaves() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.loadScriptState("three-vms-then-destroy@before-destroy", logs: "three-vms-then-destroy")
        for vm in ["i-2-7-VM", "i-2-9-VM"] {
            let n = vm == "i-2-7-VM" ? 7 : 9
            try replay.define(vm, nics: [(bridge: "cloudbr0", dev: "vnet\(n)", mac: "02:00:00:00:00:0\(n)")])
        }
        let result = try replay.agent(["destroy_network_rules_for_vm", "--vmname", "i-2-8-VM", "--vif", "vnet8"])
        #expect(result.status == 0, "\(result.stderr)")
        let final = try KernelDumps.read(replay.namespace)
        let expected = try GoldenHosts.scriptDumps("three-vms-then-destroy")
        #expect(final == expected, "\(final.difference(from: expected))")
        #expect(try replay.ruleLogs() == String(contentsOf: ScenarioReplay.fixtures.appendingPathComponent("three-vms-then-destroy/runlogs.txt"), encoding: .utf8))
    }

    /// The agent's check before add_network_rules leaves the script's rules
    /// alone; add_network_rules then takes the VM over with the same rules.
    @Test func checkAndAddKeepTheScriptsRules() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.loadScriptState("v4-basic")
        try replay.define("i-2-7-VM", nics: Self.vm7)
        let before = try KernelDumps.read(replay.namespace)
        let check = try replay.agent(["default_network_rules"] + Self.v4Basic + ["--isFirstNic", "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(try KernelDumps.read(replay.namespace) == before)
        let add = try replay.agent(["add_network_rules"] + Self.v4Basic + ["--sig", "0123456789abcdef", "--seq", "2", "--rules", Self.v4BasicRules])
        #expect(add.status == 0, "\(add.stderr)")
        let final = try KernelDumps.read(replay.namespace)
        #expect(final == before, "\(final.difference(from: before))")
        #expect(try replay.ruleLogs() == "== i-2-7-VM.log\ni-2-7-VM,7,10.1.0.7,1,0123456789abcdef,2\n")
    }

    /// A secondary IP added to a VM the script programmed (our state empty)
    /// reaches what the script's own command leaves.
    @Test func secondaryIPOnScriptState() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.loadScriptState("secondary-ip-add-remove@before-add", logs: "secondary-ip-add-remove")
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "tap7", mac: "02:00:00:00:00:07")])
        let add = try replay.agent(["network_rules_vmSecondaryIp", "--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:07",
                                    "--nicsecips", "10.1.0.99", "--action=-A"])
        #expect(add.status == 0, "\(add.stderr)")
        let final = try KernelDumps.read(replay.namespace)
        let expected = try GoldenHosts.scriptDumps("secondary-ip-add-remove@after-add")
        #expect(final == expected, "\(final.difference(from: expected))")
    }

    /// A second NIC for a VM the script programmed takes the VM over and
    /// adds the NIC, as the script's own second default_network_rules does.
    @Test func secondNICOnScriptState() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.loadScriptState("v4-basic")
        try replay.define("i-2-7-VM", nics: Self.vm7 + [(bridge: "cloudbr0", dev: "tap17", mac: "02:00:00:00:01:07")])
        let second = try replay.agent(["default_network_rules", "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.1.7",
                                       "--vmmac", "02:00:00:00:01:07", "--vif", "tap17", "--brname", "cloudbr0", "--nicsecips", "0;"])
        #expect(second.status == 0, "\(second.stderr)")
        let dumps = try KernelDumps.read(replay.namespace)
        let filter = dumps.iptables["filter"] ?? ""
        #expect(filter.contains("-A i-2-7-VM -p tcp -m tcp --dport 80:443 -m state --state NEW -j ACCEPT"))
        #expect(filter.contains("-A BF-cloudbr0-IN -m physdev --physdev-in vnet7 --physdev-is-bridged -j i-2-7-def"))
        #expect(filter.contains("-A BF-cloudbr0-IN -m physdev --physdev-in tap17 --physdev-is-bridged -j i-2-7-def"))
        #expect(dumps.ipset.contains("add i-2-7-VM 10.1.1.7") && dumps.ipset.contains("add i-2-7-VM 10.1.0.7"))
        #expect(dumps.ebtables.contains("-A i-2-7-VM-in-src -s 02:00:00:00:01:07 -j RETURN\n-A i-2-7-VM-in-src -s 02:00:00:00:00:07 -j RETURN"))
    }

    /// Taking over a VM whose metadata redirect the script set up keeps it.
    @Test func addKeepsTheScriptsMetadataRedirect() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.loadScriptState("post-default")
        try replay.define("i-2-7-VM", nics: Self.vm7)
        let before = try KernelDumps.read(replay.namespace)
        let add = try replay.agent(["add_network_rules"] + Self.v4Basic + ["--sig", "0123456789abcdef", "--seq", "2",
                                                                         "--rules", "I:tcp;22;22;0.0.0.0/0,NEXT;"])
        #expect(add.status == 0, "\(add.stderr)")
        let final = try KernelDumps.read(replay.namespace)
        #expect(final == before, "\(final.difference(from: before))")
    }

    /// With the notrack layout, a script-written VM is converted the next
    /// time a command touches it.
    @Test func notrackConvertsAVMWhenItIsTouched() throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.loadScriptState("v4-basic")
        try replay.define("i-2-7-VM", nics: Self.vm7)
        let add = try replay.agent(["add_network_rules"] + Self.v4Basic + ["--sig", "0123456789abcdef", "--seq", "2", "--rules", Self.v4BasicRules])
        #expect(add.status == 0, "\(add.stderr)")
        let final = try KernelDumps.read(replay.namespace)
        let expected = try GoldenHosts.expected("v4-basic", .notrack)
        #expect(final == expected, "\(final.difference(from: expected))")
    }

    /// A two-NIC VM the script programmed, taken over by add_network_rules,
    /// which names only the first NIC: the second NIC (found through
    /// libvirt, its addresses in the VM's ARP chain) keeps its rules. The
    /// script's state is our classic rendering, which equals the script's
    /// (ParityTests); vifs are not named vnet*, which libvirt's test driver
    /// would rename.
    @Test func addTakesOverAMultiNICVM() throws {
        let bridge = Bridge(name: try InterfaceName("cloudbr0", field: "b"), uplink: try InterfaceName("eth0", field: "u"))
        func host(rules: String) throws -> HostState {
            HostState(bridges: [bridge], vms: [VirtualMachine(name: try VMName("i-2-7-VM"), id: 7, nics: [
                NIC(vif: try InterfaceName("tap7", field: "v"), bridge: bridge.name, mac: MACAddress("02:00:00:00:00:07"),
                    ipv4: IPv4Address("10.1.0.7"), ipv6: IPv6Address("2001:db8::7"), secondaryAddresses: [IPAddress("10.1.0.71")!]),
                NIC(vif: try InterfaceName("tap17", field: "v"), bridge: bridge.name, mac: MACAddress("02:00:00:00:01:07"),
                    ipv4: IPv4Address("10.1.1.7"), secondaryAddresses: [IPAddress("10.1.1.71")!]),
            ], rules: try RuleParser.parse(rules))])
        }
        let replay = try ScenarioReplay(layout: .classic)
        let before = RulesetText(Renderer.render(try host(rules: "I:tcp;22;22;0.0.0.0/0,NEXT;"), layout: .classic))
        try replay.namespace.run("/usr/sbin/ipset", ["restore"], input: before.ipset)
        try replay.namespace.run(TestNetfilter.current.iptablesRestore, input: before.iptables)
        try replay.namespace.run(TestNetfilter.current.ip6tablesRestore, input: before.ip6tables)
        try replay.namespace.run("/usr/sbin/ebtables-nft-restore", input: before.ebtables)
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "tap7", mac: "02:00:00:00:00:07"),
                                            (bridge: "cloudbr0", dev: "tap17", mac: "02:00:00:00:01:07")])
        let add = try replay.agent(["add_network_rules", "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7",
                                    "--vmip6", "2001:db8::7", "--vmmac", "02:00:00:00:00:07", "--vif", "tap7", "--brname", "cloudbr0",
                                    "--nicsecips", "10.1.0.71;", "--sig", "0123456789abcdef", "--seq", "2",
                                    "--rules", "I:tcp;80;80;0.0.0.0/0,NEXT;"])
        #expect(add.status == 0, "\(add.stderr)")
        let after = RulesetText(Renderer.render(try host(rules: "I:tcp;80;80;0.0.0.0/0,NEXT;"), layout: .classic))
        let expected = KernelDumps(iptables: after.iptables, ip6tables: after.ip6tables, ipset: after.ipset, ebtables: after.ebtables)
        let final = try KernelDumps.read(replay.namespace)
        #expect(final == expected, "\(final.difference(from: expected))")
    }
}
