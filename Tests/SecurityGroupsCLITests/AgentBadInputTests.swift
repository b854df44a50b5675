import Foundation
import Testing
import TestSupport

/// Bad input through every agent command: a non-zero exit, one line on
/// stderr naming the field and the value, and nothing changed in the kernel
/// or the rule logs.
@Suite struct AgentBadInputTests {
    static let good = [
        "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmmac", "02:00:00:00:00:07",
        "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "0;",
    ]

    /// (command, arguments, the start of the expected error)
    static let cases: [(String, [String], String)] = [
        ("default_network_rules", replacing("--vmname", with: "i-2-7-VM;reboot"), "invalid vmname 'i-2-7-VM;reboot'"),
        ("default_network_rules", replacing("--vmmac", with: "02:00:00:00:00"), "invalid vmmac '02:00:00:00:00'"),
        ("default_network_rules", replacing("--vmip", with: "2001:db8::7"), "invalid vmip '2001:db8::7': an IPv6 address where IPv4 is expected"),
        ("default_network_rules", replacing("--vif", with: "vnet7$(id)"), "invalid vif 'vnet7$(id)'"),
        ("default_network_rules", replacing("--brname", with: "cloudbr0-way-too-long"), "invalid brname 'cloudbr0-way-too-long': longer than 15 characters"),
        ("default_network_rules", replacing("--nicsecips", with: "10.1.0.71;x;"), "invalid nicsecips '10.1.0.71;x;'"),
        ("default_network_rules", replacing("--vmid", with: "seven"), "invalid vmid 'seven'"),
        ("add_network_rules", good + ["--sig", "abc", "--seq", "2", "--rules", "I:tcp;22;22;0.0.0.0/0,NEXT;junk"], "invalid rules 'I:tcp;22;22;0.0.0.0/0,NEXT;junk'"),
        ("add_network_rules", good + ["--sig", "abc", "--seq", "2", "--rules", "I:tcp;1;70000;0.0.0.0/0,NEXT;"], "invalid rules 'I:tcp;1;70000;0.0.0.0/0,NEXT;'"),
        ("add_network_rules", good + ["--sig", "a|b", "--seq", "2"], "invalid sig 'a|b'"),
        ("add_network_rules", good + ["--sig", "abc", "--seq", "x"], "invalid seq 'x'"),
        ("network_rules_vmSecondaryIp", ["--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:07", "--nicsecips", "10.1.0.999", "--action=-A"], "invalid nicsecips '10.1.0.999'"),
        ("network_rules_vmSecondaryIp", ["--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:07", "--nicsecips", "10.1.0.99", "--action=-X"], "invalid action '-X'"),
        ("post_default_network_rules", good + ["--dhcpSvr", "10.1.0.1`x`", "--hostIp", "10.1.0.2", "--hostMacAddr", "02:00:00:00:ff:01"], "invalid dhcpSvr '10.1.0.1`x`'"),
        ("post_default_network_rules", good + ["--dhcpSvr", "10.1.0.1", "--hostIp", "10.1.0.2", "--hostMacAddr", "nope"], "invalid hostMacAddr 'nope'"),
        ("destroy_network_rules_for_vm", ["--vmname", "../../etc/passwd"], "invalid vmname '../../etc/passwd'"),
        ("destroy_network_rules_for_vm", ["--vmname", "i-2-7-VM", "--vif", "vnet 7"], "invalid vif 'vnet 7'"),
        ("default_network_rules_systemvm", ["--vmname", "r-5-VM", "--localbrname", "cloud0;ls"], "invalid localbrname 'cloud0;ls'"),
        ("can_bridge_firewall", ["--privnic", "eth0|x"], "invalid privnic 'eth0|x'"),
        ("verify_network_rules", ["--vmname", "i-2-7-VM", "--vmip", "10.1.0.7", "--vmmac", "zz"], "invalid vmmac 'zz'"),
    ]

    static func replacing(_ option: String, with value: String) -> [String] {
        var arguments = good
        arguments[arguments.firstIndex(of: option)! + 1] = value
        return arguments + ["--isFirstNic"]
    }

    @Test(arguments: 0..<cases.count)
    func refusesAndChangesNothing(index: Int) throws {
        let (command, arguments, expected) = Self.cases[index]
        let replay = try ScenarioReplay(layout: .notrack)
        try replay.run("post-default")
        let before = try KernelDumps.read(replay.namespace)
        let logs = try replay.ruleLogs()
        let result = try replay.agent([command] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("Error: " + expected), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try KernelDumps.read(replay.namespace) == before)
        #expect(try replay.ruleLogs() == logs)
    }
}
