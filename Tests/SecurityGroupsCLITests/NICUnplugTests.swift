import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// The agent's unplug form of destroy_network_rules_for_vm, replayed from
/// the script's recording (`scenarios/nic-unplug.sh`): where the script is
/// right our kernel state is its; where it is not, the documented safe one.
@Suite struct NICUnplugTests {
    static let recording = ScenarioReplay.scriptStates.appendingPathComponent("nic-unplug")

    static func scriptDumps(_ snapshot: String?) throws -> KernelDumps {
        let directory = snapshot.map { recording.appendingPathComponent("snapshots").appendingPathComponent($0) } ?? recording
        func file(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return KernelDumps(iptables: try file("iptables.txt"), ip6tables: try file("ip6tables.txt"),
                           ipset: try file("ipset.txt"), ebtables: try file("ebtables.txt"))
    }

    /// i-2-7-VM with the NICs of the recording that are still plugged.
    static func rendered(keeping vifs: [String]) throws -> KernelDumps {
        let nics: [[String: Any]] = [
            ["vif": "vnet7", "bridge": "cloudbr0", "mac": "02:00:00:00:00:07", "ipv4": "10.1.0.7", "ipv6": "fd00::7"],
            ["vif": "vnet17", "bridge": "cloudbr0", "mac": "02:00:00:00:01:07", "ipv4": "10.1.1.7", "ipv6": "fd00::17",
             "secondaryIps": ["10.1.1.71"]],
            ["vif": "vnet27", "bridge": "cloudbr0", "mac": "02:00:00:00:02:07", "ipv6": "fd00::27"],
        ].filter { vifs.contains($0["vif"] as! String) }
        let json: [String: Any] = ["bridges": [["name": "cloudbr0", "uplink": "eth0"]],
                                   "vms": [["name": "i-2-7-VM", "id": 7, "nics": nics, "rules": "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;"]]]
        let text = RulesetText(Renderer.render(try HostFile.decode(try JSONSerialization.data(withJSONObject: json)), layout: .classic))
        return KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
    }

    @Test func unplugsLikeTheScriptWhereItIsRight() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("nic-unplug", in: ScenarioReplay.scriptStates)
        #expect(replay.results.allSatisfy { $0.status == 0 }, "\(replay.results.filter { $0.status != 0 })")

        // Plugged: the script's state exactly.
        let plugged = try #require(replay.snapshots["plugged"])
        let scriptPlugged = try Self.scriptDumps("plugged")
        #expect(plugged == scriptPlugged, "\(plugged.difference(from: scriptPlugged))")

        // The dual-stack NIC unplugged: its ebtables rules and IPv4 addresses
        // go as with the script, and its IPv6 rules and addresses too (the
        // script leaves those, and one of its RELATED,ESTABLISHED rules).
        let unplugged = try #require(replay.snapshots["unplugged-ipv4"])
        let script = try Self.scriptDumps("unplugged-ipv4")
        #expect(unplugged.ebtables == script.ebtables)
        #expect(unplugged.ipset.filter { !$0.contains("-6 ") } == script.ipset.filter { !$0.contains("-6 ") })
        #expect(script.ip6tables["filter"]?.contains("vnet17") == true)
        let expected = try Self.rendered(keeping: ["vnet7", "vnet27"])
        #expect(unplugged == expected, "\(unplugged.difference(from: expected))")

        // The NIC without IPv4 unplugged: only its rules go. The script took
        // it for the whole VM and left vnet7 without rules.
        #expect(try Self.scriptDumps(nil).iptables["filter"]?.contains("i-2-7") == false)
        let final = try KernelDumps.read(replay.namespace)
        let kept = try Self.rendered(keeping: ["vnet7"])
        #expect(final == kept, "\(final.difference(from: kept))")
    }
}
