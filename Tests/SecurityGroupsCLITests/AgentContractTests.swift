import Foundation
import Testing
import TestSupport

/// The exit statuses and refusals of the agent commands that the recorded
/// scenarios do not reach.
@Suite struct AgentContractTests {
    static let nic = ["--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmmac", "02:00:00:00:00:07",
                      "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "0;"]

    /// A host where the script's v4-basic scenario ran through our binary.
    static func programmed() throws -> ScenarioReplay {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.run("v4-basic")
        return replay
    }

    /// verify_network_rules: 0 when all is there, then the script's status
    /// for the first missing piece: 1 arguments or libvirt, 2 sets, 3
    /// bridge rules, 4 default rules (ParityTests), 5 ebtables.
    @Test func verifyExitStatuses() throws {
        let replay = try Self.programmed()
        let verify = ["verify_network_rules"] + Self.nic
        #expect(try replay.agent(verify).status == 0)
        let noIP = try replay.agent(["verify_network_rules", "--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:07"])
        #expect(noIP.status == 1 && noIP.stdout == "vm_name, vm_ip and vm_mac must be specifed\n")
        let unknownMAC = try replay.agent(["verify_network_rules", "--vmname", "i-2-7-VM", "--vmip", "10.1.0.7", "--vmmac", "02:00:00:00:00:99"])
        #expect(unknownMAC.status == 1 && unknownMAC.stdout == "Cannot find bridge\n")

        // Each breakage hides the next status's cause: break from the last checked to the first.
        try expectVerify(replay, verify, after: [
            ("/usr/sbin/ebtables-nft", ["-t", "nat", "-D", "PREROUTING", "-i", "vnet7", "-j", "i-2-7-VM-in"], 5,
             "Rule '-A PREROUTING -i vnet7 -j i-2-7-VM-in' is not found\n"),
            (TestNetfilter.current.iptables, ["-D", "BF-cloudbr0", "-m", "state", "--state", "RELATED,ESTABLISHED", "-j", "ACCEPT"], 3,
             "Rule '-A BF-cloudbr0 -m state --state RELATED,ESTABLISHED -j ACCEPT' is not found\n"),
            ("/usr/sbin/ipset", ["del", "i-2-7-VM", "10.1.0.7"], 2, "vm ip 10.1.0.7 is not found\n"),
        ])
    }

    /// Each breakage in turn (a program and its arguments), then verify's status and output.
    private func expectVerify(_ replay: ScenarioReplay, _ verify: [String],
                              after breakages: [(program: String, arguments: [String], status: Int32, output: String)]) throws {
        for breakage in breakages {
            try replay.namespace.run(breakage.program, breakage.arguments)
            let result = try replay.agent(verify)
            #expect(result.status == breakage.status && result.stdout == breakage.output, "\(result.status) \(result.stdout)")
        }
    }

    /// In the notrack layout a port is reached through the dispatch trees:
    /// verify follows them, and a broken link is reported as the script
    /// reports the missing jump it stands for.
    @Test func verifyFollowsThePortDispatch() throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.run("three-vms-then-destroy")
        let verify = ["verify_network_rules", "--vmname", "i-2-9-VM", "--vmip", "10.1.0.9", "--vmmac", "02:00:00:00:00:09",
                      "--vif", "vnet9", "--brname", "cloudbr0"]
        #expect(try replay.agent(verify).status == 0)
        try expectVerify(replay, verify, after: [
            ("/usr/sbin/ebtables-nft", ["-t", "nat", "-D", "sg-out-vnet", "-o", "vnet9", "-j", "i-2-9-VM-out"], 5,
             "Rule '-A POSTROUTING -o vnet9 -j i-2-9-VM-out' is not found\n"),
            (TestNetfilter.current.iptables, ["-D", "sg-in", "-m", "physdev", "--physdev-in", "vnet+", "--physdev-is-bridged", "-j", "sg-in-vnet"], 4,
             "Cannot find rule '-A BF-cloudbr0-IN -m physdev --physdev-in vnet9 --physdev-is-bridged -j i-2-9-def'\n"),
        ])
    }

    /// Rolling back VM by VM: with `layout = classic`, each VM the agent
    /// touches gets the script's jumps, and the others stay reachable
    /// through what is left of the dispatch trees until the last goes;
    /// a resync then leaves nothing of `notrack`.
    @Test func switchingBackToClassicVMByVM() throws {
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.run("three-vms-then-destroy")
        try replay.configure(layout: .classic)
        let vms = [(7, "i-2-7-VM"), (9, "i-2-9-VM")]
        func verify(_ number: Int, _ name: String) throws -> Int32 {
            try replay.agent(["verify_network_rules", "--vmname", name, "--vmip", "10.1.0.\(number)", "--vmmac",
                              String(format: "02:00:00:00:00:%02d", number), "--vif", "vnet\(number)", "--brname", "cloudbr0"]).status
        }
        for (index, (number, name)) in vms.enumerated() {
            let rules = try replay.agent(["add_network_rules", "--vmname", name, "--vmid", "\(number)", "--vmip", "10.1.0.\(number)",
                                          "--vmip6", "2001:db8::\(number)", "--sig", "0123456789abcdef", "--seq", "9",
                                          "--vmmac", String(format: "02:00:00:00:00:%02d", number), "--vif", "vnet\(number)",
                                          "--brname", "cloudbr0", "--nicsecips", "0;", "--rules", "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;"])
            #expect(rules.status == 0, "\(rules.stderr)")
            for (other, otherName) in vms { #expect(try verify(other, otherName) == 0, "after \(name): \(otherName)") }
            let dumps = try KernelDumps.read(replay.namespace)
            let flat = "-A BF-cloudbr0-IN -m physdev --physdev-in vnet\(number) --physdev-is-bridged -j i-2-\(number)-def"
            #expect(dumps.iptables["filter"]!.contains(flat))
            #expect(dumps.iptables["filter"]!.contains(":sg-in ") == (index < vms.count - 1), "the tree goes with the last VM")
        }
        // A rules update leaves ebtables alone; a resync brings the whole host to classic
        // (under the vif names libvirt's test driver gives, so verify is not asked again).
        #expect(try replay.agent(["resync"]).status == 0)
        let dumps = try KernelDumps.read(replay.namespace)
        #expect(!dumps.description.contains("sg-") && !dumps.description.contains("cs_"), "\(dumps)")
    }

    /// The options each command cannot do without: refused as bad input
    /// (exit 2), one line naming the option, nothing changed.
    static let requiredOptions: [(command: String, arguments: [String], missing: String)] = {
        let rules = nic + ["--sig", "abc", "--seq", "2", "--rules", "I:tcp;22;22;0.0.0.0/0,NEXT;"]
        let post = nic + ["--dhcpSvr", "10.1.0.1", "--hostIp", "10.1.0.2", "--hostMacAddr", "02:00:00:00:ff:01"]
        let secondary = ["--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:07", "--nicsecips", "10.1.0.99", "--action=-A"]
        func dropping(_ option: String, from arguments: [String]) -> [String] {
            guard let index = arguments.firstIndex(where: { $0 == "--" + option || $0.hasPrefix("--\(option)=") }) else { return arguments }
            return arguments.hasPrefix("--\(option)=", at: index) ? Array(arguments[..<index] + arguments[(index + 1)...])
                : Array(arguments[..<index] + arguments[(index + 2)...])
        }
        var cases: [(String, [String], String)] = []
        for option in ["vmname", "vmmac", "vif", "brname"] {
            cases.append(("default_network_rules", dropping(option, from: nic + ["--isFirstNic"]), option))
        }
        cases.append(("default_network_rules_systemvm", ["--localbrname", "cloud0"], "vmname"))
        for option in ["vmname", "vif", "vmip", "hostIp", "hostMacAddr"] { cases.append(("post_default_network_rules", dropping(option, from: post), option)) }
        for option in ["vmname", "sig", "seq", "vmmac", "vif", "brname"] { cases.append(("add_network_rules", dropping(option, from: rules), option)) }
        for option in ["vmname", "vmmac", "nicsecips", "action"] { cases.append(("network_rules_vmSecondaryIp", dropping(option, from: secondary), option)) }
        cases.append(("destroy_network_rules_for_vm", ["--vif", "vnet7"], "vmname"))
        return cases
    }()

    @Test(arguments: 0..<requiredOptions.count)
    func missingRequiredOptionIsRefused(index: Int) throws {
        let (command, arguments, missing) = Self.requiredOptions[index]
        let replay = try Self.programmed()
        let before = try KernelDumps.read(replay.namespace)
        let logs = try replay.ruleLogs()
        let result = try replay.agent([command] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr == "Error: invalid \(missing) '': required by this command\n", "\(command): \(result.stderr)")
        #expect(try KernelDumps.read(replay.namespace) == before)
        #expect(try replay.ruleLogs() == logs)
    }

    /// A VM of the wrong kind, or one that is not there to change.
    @Test func refusalsOfTheWrongVM() throws {
        let replay = try Self.programmed()
        let before = try KernelDumps.read(replay.namespace)
        let refusals: [([String], Int32, String)] = [
            (["default_network_rules", "--vmname", "r-5-VM"] + Self.nic.dropFirst(2) + ["--isFirstNic"], 2,
             "Error: invalid vmname 'r-5-VM': not a guest (i-) VM\n"),
            (["default_network_rules_systemvm", "--vmname", "i-2-7-VM", "--localbrname", "cloud0"], 2,
             "Error: invalid vmname 'i-2-7-VM': not a system (r-, s-, v-) VM\n"),
            (["network_rules_vmSecondaryIp", "--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:99", "--nicsecips", "10.1.0.99", "--action=-A"], 1,
             "Error: network_rules_vmSecondaryIp i-2-7-VM: no NIC with MAC 02:00:00:00:00:99\n"),
            (["post_default_network_rules", "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmmac", "02:00:00:00:00:07",
              "--vif", "vnet99", "--brname", "cloudbr0", "--hostIp", "10.1.0.2", "--hostMacAddr", "02:00:00:00:ff:01"], 1,
             "Error: post_default_network_rules i-2-7-VM: no default rules for vif vnet99 (run default_network_rules first)\n"),
        ]
        for (arguments, status, error) in refusals {
            let result = try replay.agent(arguments)
            #expect(result.status == status && result.stderr == error, "\(arguments[0]): \(result.status) \(result.stderr)")
        }
        #expect(try KernelDumps.read(replay.namespace) == before)
    }

    /// The kernel refuses a commit midway (a foreign rule still jumps into
    /// the VM's chain): one line naming the object and what was already
    /// applied, the VM's record and rule log kept; once the jump is gone,
    /// the same command completes.
    @Test func kernelRefusalMidwayThenTheSameCommandConverges() throws {
        let replay = try Self.programmed()
        try replay.namespace.run(TestNetfilter.current.iptables, ["-A", "FORWARD", "-i", "eth9", "-j", "i-2-7-def"])
        let before = try KernelDumps.read(replay.namespace)
        let destroy = ["destroy_network_rules_for_vm", "--vmname", "i-2-7-VM", "--vif", "vnet7"]
        let failed = try replay.agent(destroy)
        #expect(failed.status == 1)
        let operation = TestNetfilter.current == .legacy ? "delete chain" : "nf_tables transaction"
        #expect(failed.stderr.hasPrefix("Error: \(operation) iptables filter chain i-2-7-def: "), "\(failed.stderr)")
        // On nf_tables the refused transaction holds every table, and ebtables waits for it.
        let applied = TestNetfilter.current == .legacy ? "; already applied: " : "; nothing was changed"
        #expect(failed.stderr.contains(applied) && failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(try KernelDumps.read(replay.namespace).iptables["filter"] == before.iptables["filter"])
        #expect(try replay.ruleLogs().contains("== i-2-7-VM.log"))
        #expect(try replay.stateFiles().contains("== i-2-7-VM.json"))
        try replay.namespace.run(TestNetfilter.current.iptables, ["-D", "FORWARD", "-i", "eth9", "-j", "i-2-7-def"])
        #expect(try replay.agent(destroy).status == 0)
        let after = try KernelDumps.read(replay.namespace).description
        #expect(!after.contains("i-2-7"), "\(after)")
        #expect(try replay.ruleLogs() == "")
    }

    /// get_rule_logs_for_vms lists running guests only (not paused ones, not
    /// system VMs); cleanup_rules keeps the rules of running and paused VMs,
    /// and removes those of VMs libvirt no longer runs.
    @Test func pausedAndSystemVMsInRuleLogsAndCleanup() throws {
        let replay = try ScenarioReplay(layout: .classic)
        try replay.define("i-2-7-VM", nics: [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:07")])
        try replay.define("i-2-8-VM", nics: [(bridge: "cloudbr0", dev: "vnet8", mac: "02:00:00:00:00:08")], paused: true)
        try replay.define("r-5-VM", nics: [(bridge: "cloudbr0", dev: "tap5", mac: "0e:00:a9:fe:00:05")])
        for id in ["7", "8"] {
            let nic = ["--vmname", "i-2-\(id)-VM", "--vmid", id, "--vmip", "10.1.0.\(id)", "--vmmac", "02:00:00:00:00:0\(id)",
                       "--vif", "vnet\(id)", "--brname", "cloudbr0", "--nicsecips", "0;"]
            #expect(try replay.agent(["default_network_rules"] + nic + ["--isFirstNic"]).status == 0)
            #expect(try replay.agent(["add_network_rules"] + nic + ["--sig", "s\(id)", "--seq", "1", "--rules", "I:tcp;22;22;0.0.0.0/0,NEXT;"]).status == 0)
        }
        #expect(try replay.agent(["default_network_rules_systemvm", "--vmname", "r-5-VM", "--localbrname", "cloud0"]).status == 0)
        let logs = try replay.agent(["get_rule_logs_for_vms"])
        #expect(logs.status == 0)
        #expect(logs.stdout.hasPrefix("i-2-7-VM,7,10.1.0.7,") && logs.stdout.split(separator: "\n").count == 1, "\(logs.stdout)")
        #expect(!logs.stdout.contains("i-2-8-VM") && !logs.stdout.contains("r-5-VM"))

        let before = try KernelDumps.read(replay.namespace)
        #expect(try replay.agent(["cleanup_rules"]).status == 0)
        #expect(try KernelDumps.read(replay.namespace) == before)
        #expect(before.description.contains("i-2-8-VM") && before.description.contains("r-5-VM"))

        try replay.remove("i-2-8-VM")
        try replay.remove("r-5-VM")
        #expect(try replay.agent(["cleanup_rules"]).status == 0)
        let after = try KernelDumps.read(replay.namespace).description
        #expect(after.contains("i-2-7-VM") && !after.contains("i-2-8") && !after.contains("r-5-VM"), "\(after)")
    }

    /// A configuration that cannot be read stops every command before it
    /// changes anything (exit 1); one with a bad value is bad input (exit 2).
    @Test func unreadableOrInvalidConfiguration() throws {
        let replay = try ScenarioReplay(layout: .classic)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sgconf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let unreadable = try replay.namespace.exec(BinaryRunner.binary.path, ["get_rule_logs_for_vms"],
                                                   environment: ["SECURITY_GROUPS_CONFIG": directory.path])
        #expect(unreadable.status == 1 && unreadable.stderr == "Error: cannot read configuration \(directory.path)\n", "\(unreadable.stderr)")
        let invalid = directory.appendingPathComponent("sg.conf")
        try "layout = fancy\n".write(to: invalid, atomically: true, encoding: .utf8)
        let refused = try replay.namespace.exec(BinaryRunner.binary.path, ["get_rule_logs_for_vms"],
                                                environment: ["SECURITY_GROUPS_CONFIG": invalid.path])
        #expect(refused.status == 2 && refused.stderr == "Error: invalid \(invalid.path):1 layout 'fancy': must be notrack, classic or native\n", "\(refused.stderr)")
    }

    /// can_bridge_firewall without ebtables tools: exit 2, as the script
    /// (`which ebtables` fails). Simulated by hiding /usr/sbin in a mount
    /// namespace of the command's own.
    @Test func canBridgeFirewallWithoutEbtables() throws {
        let replay = try ScenarioReplay(layout: .classic)
        let script = "mount -t tmpfs none /usr/sbin && exec \"$0\" can_bridge_firewall --privnic eth0"
        let result = try replay.namespace.exec("/usr/bin/unshare", ["--mount", "/bin/sh", "-c", script, BinaryRunner.binary.path],
                                               environment: ["SECURITY_GROUPS_CONFIG": replay.directory.appendingPathComponent("sg.conf").path])
        #expect(result.status == 2 && result.stdout == "no ebtables on your host machine\n", "\(result.status) \(result.stdout) \(result.stderr)")
    }
}

extension Array where Element == String {
    fileprivate func hasPrefix(_ prefix: String, at index: Int) -> Bool { self[index].hasPrefix(prefix) }
}
