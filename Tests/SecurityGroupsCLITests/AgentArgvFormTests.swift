import Foundation
import Testing

/// Every argument form CloudStack's KVM agent builds (LibvirtComputingResource's
/// calls of the script, with the values SecurityGroupRulesCmd and
/// SecurityGroupManagerImpl produce) is in a recording of the script that a
/// suite replays with our binary: ParityTests replays `scripted/*`,
/// NICUnplugTests `script-states/nic-unplug`.
@Suite struct AgentArgvFormTests {
    struct Form: CustomTestStringConvertible, Sendable {
        var name: String
        var command: String
        /// The options given, exactly.
        var options: Set<String>
        /// A condition on the values, by option.
        var values: @Sendable ([String: String]) -> Bool = { _ in true }
        var testDescription: String { name }
    }

    static let nic: Set<String> = ["vmname", "vmid", "vmip", "vmmac", "vif", "brname", "nicsecips"]
    static let rules: Set<String> = ["vmname", "vmid", "vmip", "sig", "seq", "vmmac", "vif", "brname", "nicsecips"]

    static let forms: [Form] = [
        Form(name: "can_bridge_firewall at agent start", command: "can_bridge_firewall", options: ["privnic"]) { $0["privnic"] != "" },
        Form(name: "can_bridge_firewall, no public NIC found", command: "can_bridge_firewall", options: ["privnic"]) { $0["privnic"] == "" },
        Form(name: "VM start, IPv4 NIC", command: "default_network_rules", options: nic.union(["isFirstNic"])),
        Form(name: "VM start, dual-stack NIC", command: "default_network_rules", options: nic.union(["vmip6", "isFirstNic"])),
        Form(name: "VM start, NIC without IPv4", command: "default_network_rules",
             options: nic.subtracting(["vmip"]).union(["vmip6", "isFirstNic"])),
        Form(name: "NIC plugged", command: "default_network_rules", options: nic),
        Form(name: "NIC plugged, dual-stack", command: "default_network_rules", options: nic.union(["vmip6"])),
        Form(name: "NIC plugged, without IPv4", command: "default_network_rules", options: nic.subtracting(["vmip"]).union(["vmip6"])),
        Form(name: "rules update, check of the first NIC", command: "default_network_rules", options: nic.union(["vmip6", "isFirstNic", "check"])),
        Form(name: "rules update, check of a further NIC", command: "default_network_rules", options: nic.union(["check"])),
        Form(name: "secondary addresses: none ('0;')", command: "default_network_rules", options: nic.union(["isFirstNic"])) {
            $0["nicsecips"] == "0;"
        },
        Form(name: "secondary addresses: flagged, none left ('')", command: "default_network_rules",
             options: nic.union(["vmip6", "isFirstNic"])) { $0["nicsecips"] == "" },
        Form(name: "secondary addresses of both families", command: "default_network_rules",
             options: nic.union(["vmip6", "isFirstNic"])) { ($0["nicsecips"] ?? "").contains(":") && ($0["nicsecips"] ?? "").contains(".") },
        Form(name: "system VM", command: "default_network_rules_systemvm", options: ["vmname", "localbrname"]),
        Form(name: "metadata redirect", command: "post_default_network_rules",
             options: ["vmname", "vmid", "vmip", "vmmac", "vif", "brname", "dhcpSvr", "hostIp", "hostMacAddr"]),
        Form(name: "rules, IPv4 guest", command: "add_network_rules", options: rules.union(["rules"])),
        Form(name: "rules, dual-stack guest", command: "add_network_rules", options: rules.union(["vmip6", "rules"])),
        Form(name: "rules, none (no --rules)", command: "add_network_rules", options: rules),
        Form(name: "rules with null/32", command: "add_network_rules", options: rules.union(["vmip6", "rules"])) {
            ($0["rules"] ?? "").contains("null/32")
        },
        Form(name: "rules with a numeric protocol, all, ICMP type and code", command: "add_network_rules",
             options: rules.union(["vmip6", "rules"])) {
            let rules = $0["rules"] ?? ""
            return rules.contains("I:47;") && rules.contains(":all;") && rules.contains("I:icmp;8;0;")
        },
        Form(name: "rules with merged IPv4 and IPv6 CIDRs", command: "add_network_rules", options: rules.union(["vmip6", "rules"])) {
            ($0["rules"] ?? "").contains("0.0.0.0/0,fd00::/64,::/0,")
        },
        Form(name: "secondary address added", command: "network_rules_vmSecondaryIp", options: ["vmname", "vmmac", "nicsecips", "action"]) {
            $0["action"] == "-A"
        },
        Form(name: "secondary address removed", command: "network_rules_vmSecondaryIp", options: ["vmname", "vmmac", "nicsecips", "action"]) {
            $0["action"] == "-D"
        },
        Form(name: "VM stopped, gone from libvirt", command: "destroy_network_rules_for_vm", options: ["vmname"]),
        Form(name: "VM stopped or migrated", command: "destroy_network_rules_for_vm", options: ["vmname", "vif"]),
        Form(name: "NIC unplugged", command: "destroy_network_rules_for_vm", options: ["vmname", "vmip", "vmmac", "vif", "nicsecips"]),
        Form(name: "NIC without IPv4 unplugged", command: "destroy_network_rules_for_vm", options: ["vmname", "vmmac", "vif", "nicsecips"]),
        Form(name: "cleanup", command: "cleanup_rules", options: []),
        Form(name: "rule logs for the sync", command: "get_rule_logs_for_vms", options: []),
    ]

    /// The command lines of the replayed recordings: (command, options with values).
    static let recorded: [(command: String, options: [String: String])] = {
        let directories = ((try? FileManager.default.contentsOfDirectory(atPath: ScenarioReplay.fixtures.path)) ?? [])
            .map { ScenarioReplay.fixtures.appendingPathComponent($0) } + [ScenarioReplay.scriptStates.appendingPathComponent("nic-unplug")]
        return directories.flatMap { directory -> [(String, [String: String])] in
            let text = (try? String(contentsOf: directory.appendingPathComponent("cmds.txt"), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter { $0.hasPrefix("security_group.py ") }.map { line in
                let words = Array(ScenarioReplay.split(String(line)).dropFirst())
                var options: [String: String] = [:]
                var index = 1
                while index < words.count {
                    let word = words[index].dropFirst(2)
                    if let equals = word.firstIndex(of: "=") {
                        options[String(word[..<equals])] = String(word[word.index(after: equals)...])
                    } else if index + 1 < words.count, !words[index + 1].hasPrefix("--") {
                        options[String(word)] = words[index + 1]
                        index += 1
                    } else {
                        options[String(word)] = ""
                    }
                    index += 1
                }
                return (words[0], options)
            }
        }
    }()

    @Test func recordingsAreThere() {
        #expect(Self.recorded.count > 80, "\(Self.recorded.count) recorded command lines")
    }

    @Test(arguments: forms)
    func isReplayedFromARecording(form: Form) {
        #expect(Self.recorded.contains { $0.command == form.command && Set($0.options.keys) == form.options && form.values($0.options) })
    }
}
