import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// VMs with the longest name CloudStack builds (105 characters) and with a
/// name just long enough to break the script's ebtables chains (25): their
/// whole life through the agent commands, and taken over from the script.
@Suite struct LongNameTests {
    static let longest = "i-9223372036854775807-9223372036854775807-" + String(repeating: "h", count: 63)
    static let medium = "i-12-3456-web-server-0001"

    struct VM {
        var name: String, id: String, vif: String, mac: String, ip: String, ip6: String?, secondary: [String], rules: String
    }

    static func vms(vifs: (String, String)) -> [VM] {
        [VM(name: longest, id: "7", vif: vifs.0, mac: "02:00:00:00:00:07", ip: "10.1.0.7", ip6: "fd00::7", secondary: [],
            rules: "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;"),
         VM(name: medium, id: "3456", vif: vifs.1, mac: "02:00:00:00:00:08", ip: "10.1.0.8", ip6: nil, secondary: ["10.1.0.98"],
            rules: "I:tcp;80;80;0.0.0.0/0,NEXT;")]
    }

    /// What the agent runs when the VM starts: default rules for its NIC, then its rules.
    static func start(_ vm: VM, seq: Int, in replay: ScenarioReplay) throws {
        let secondary = vm.secondary.isEmpty ? "0;" : vm.secondary.map { $0 + ";" }.joined()
        let nic = ["--vmname", vm.name, "--vmid", vm.id, "--vmip", vm.ip] + (vm.ip6.map { ["--vmip6", $0] } ?? [])
        let port = ["--vmmac", vm.mac, "--vif", vm.vif, "--brname", "cloudbr0", "--nicsecips", secondary]
        for command in [["default_network_rules"] + nic + port + ["--isFirstNic"],
                        ["default_network_rules"] + nic + port + ["--isFirstNic", "--check"],
                        ["add_network_rules"] + nic + ["--sig", "s\(seq)", "--seq", "\(seq)"] + port + ["--rules", vm.rules]] {
            let result = try replay.agent(command)
            #expect(result.status == 0, "\(command[0]) \(vm.name): \(result.stderr)")
        }
    }

    /// The rendered state of the host with `vms`.
    static func rendered(_ vms: [VM], _ layout: Layout) throws -> KernelDumps {
        let json: [String: Any] = [
            "bridges": [["name": "cloudbr0", "uplink": "eth0"]],
            "vms": vms.map { vm -> [String: Any] in
                var nic: [String: Any] = ["vif": vm.vif, "bridge": "cloudbr0", "mac": vm.mac, "ipv4": vm.ip, "secondaryIps": vm.secondary]
                nic["ipv6"] = vm.ip6
                return ["name": vm.name, "id": Int(vm.id)!, "nics": [nic], "rules": vm.rules]
            },
        ]
        let host = try HostFile.decode(try JSONSerialization.data(withJSONObject: json))
        let text = RulesetText(Renderer.render(host, layout: layout))
        return KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
    }

    /// `ebtablesInAnyOrder`: the jumps in PREROUTING and POSTROUTING may
    /// stand in any order (each names its own vif).
    static func expectKernel(_ replay: ScenarioReplay, _ expected: KernelDumps, ebtablesInAnyOrder: Bool = false,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        var dumps = try KernelDumps.read(replay.namespace)
        var expected = expected
        if ebtablesInAnyOrder {
            let sorted = { (text: String) in text.split(separator: "\n").sorted().joined(separator: "\n") }
            (dumps.ebtables, expected.ebtables) = (sorted(dumps.ebtables), sorted(expected.ebtables))
        }
        #expect(dumps == expected, "\(dumps.difference(from: expected))", sourceLocation: sourceLocation)
    }

    /// Every chain, set and ebtables chain named like a VM's, and every rule naming one.
    static func leftovers(_ dumps: KernelDumps) -> [String] {
        (dumps.description.split(separator: "\n").map(String.init)).filter { line in
            line.split(separator: " ").contains { Ownership.isVMObjectName(String($0.drop { $0 == ":" })) }
        }
    }

    @Test(arguments: Layout.iptablesLayouts)
    func programmedUpdatedResyncedAndDestroyedWithoutLeftovers(layout: Layout) throws {
        let replay = try ScenarioReplay(layout: layout)
        // tapN, not vnetN: libvirt's test driver renames vnet devices, and resync asks it.
        var vms = Self.vms(vifs: ("tap7", "tap8"))
        for vm in vms { try replay.define(vm.name, nics: [(bridge: "cloudbr0", dev: vm.vif, mac: vm.mac)]) }
        for vm in vms { try Self.start(vm, seq: 1, in: replay) }
        var expected = try Self.rendered(vms, layout)
        try Self.expectKernel(replay, expected)
        #expect(try replay.ruleLogs().contains("== \(Self.longest).log\n\(Self.longest),7,10.1.0.7,"))

        vms[0].rules = "I:tcp;443;443;10.0.0.0/8,NEXT;E:udp;53;53;0.0.0.0/0,NEXT;"
        let update = try replay.agent(["add_network_rules", "--vmname", Self.longest, "--vmid", "7", "--vmip", "10.1.0.7",
                                       "--vmip6", "fd00::7", "--sig", "s2", "--seq", "2", "--vmmac", vms[0].mac, "--vif", "tap7",
                                       "--brname", "cloudbr0", "--nicsecips", "0;", "--rules", vms[0].rules])
        #expect(update.status == 0, "\(update.stderr)")
        vms[1].secondary.append("10.1.0.97")
        let secondary = try replay.agent(["network_rules_vmSecondaryIp", "--vmname", Self.medium, "--vmmac", vms[1].mac,
                                          "--nicsecips", "10.1.0.97", "--action=-A"])
        #expect(secondary.status == 0, "\(secondary.stderr)")
        expected = try Self.rendered(vms, layout)
        try Self.expectKernel(replay, expected)

        // A reboot empties the kernel; resync programs both again.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("sg-empty-\(UUID().uuidString).json")
        try Data(#"{"bridges": [], "vms": []}"#.utf8).write(to: empty)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(try replay.namespace.securityGroups(["apply", "--host", empty.path]).status == 0)
        #expect(Self.leftovers(try KernelDumps.read(replay.namespace)).isEmpty)
        let resync = try replay.agent(["resync"])
        #expect(resync.status == 0 && resync.stdout.hasPrefix("resync: 2 VMs, "), "\(resync.stdout) \(resync.stderr)")
        // Resync programs the recorded VMs by name: their jumps in the bridge chain come in that order.
        try Self.expectKernel(replay, try Self.rendered(vms.sorted { $0.name < $1.name }, layout))
        #expect(try replay.agent(["resync"]).stdout.contains(" 0 changes "))

        for vm in vms {
            let destroy = try replay.agent(["destroy_network_rules_for_vm", "--vmname", vm.name, "--vif", vm.vif])
            #expect(destroy.status == 0, "\(destroy.stderr)")
        }
        #expect(Self.leftovers(try KernelDumps.read(replay.namespace)) == [])
        #expect(try replay.ruleLogs() == "")
        let state = try replay.stateFiles()
        #expect(!state.contains("== i-"), "\(state)")
    }

    /// The script left these VMs half programmed (`scenarios/long-name.sh`:
    /// its ebtables chains of 29-30 characters, empty chains of the longest
    /// name). Started again through the agent, they get our names and
    /// nothing of the script's stays; destroyed, nothing stays at all.
    @Test(arguments: Layout.iptablesLayouts)
    func takenOverFromTheScriptWithoutLeftovers(layout: Layout) throws {
        let replay = try ScenarioReplay(layout: layout)
        let vms = Self.vms(vifs: ("vnet7", "vnet8"))
        for vm in vms { try replay.define(vm.name, nics: [(bridge: "cloudbr0", dev: vm.vif, mac: vm.mac)]) }
        try replay.loadRecordedScriptState("long-name")
        #expect(try replay.namespace.run("/usr/sbin/ebtables-nft-save").contains(":i-12-3456-web-server-0-out-dst ACCEPT"))
        for vm in vms { try Self.start(vm, seq: 2, in: replay) }
        // The script's iptables jumps for the medium name were in the bridge
        // chain first and stay there; its ebtables jumps go to renamed chains.
        try Self.expectKernel(replay, try Self.rendered(vms.reversed(), layout), ebtablesInAnyOrder: true)
        for vm in vms {
            let destroy = try replay.agent(["destroy_network_rules_for_vm", "--vmname", vm.name, "--vif", vm.vif])
            #expect(destroy.status == 0, "\(destroy.stderr)")
        }
        #expect(Self.leftovers(try KernelDumps.read(replay.namespace)) == [])
    }
}
