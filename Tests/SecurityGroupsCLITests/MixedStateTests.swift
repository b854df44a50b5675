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

    /// With the notrack layout, a script-written VM is converted the next
    /// time a command touches it.
    @Test func notrackConvertsAVMWhenItIsTouched() throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.loadScriptState("v4-basic")
        try replay.define("i-2-7-VM", nics: Self.vm7)
        let add = try replay.agent(["add_network_rules"] + Self.v4Basic + ["--sig", "0123456789abcdef", "--seq", "2", "--rules", Self.v4BasicRules])
        #expect(add.status == 0, "\(add.stderr)")
        let final = try KernelDumps.read(replay.namespace)
        let expected = try GoldenHosts.rendered("v4-basic", .notrack)
        #expect(final == expected, "\(final.difference(from: expected))")
    }
}
