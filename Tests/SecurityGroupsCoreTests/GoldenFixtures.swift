import Foundation
import SecurityGroupsCore

/// The kernel dumps `security_group.py` left after each reference scenario
/// (copied from shared/reference/vanilla), with the host state those agent
/// commands describe.
enum GoldenFixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("golden")

    /// Scenario names; `name@label` is a snapshot taken mid-scenario.
    static let scenarios: [String] = {
        let names = try! FileManager.default.contentsOfDirectory(atPath: root.path)
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }()

    static func host(_ scenario: String) throws -> HostState {
        try HostFile.decode(Data(contentsOf: root.appendingPathComponent(scenario).appendingPathComponent("host.json")))
    }

    static func dump(_ scenario: String, _ file: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(scenario).appendingPathComponent(file), encoding: .utf8)
    }

    /// The golden text forms, normalized as our text is: ipset lines sorted
    /// (the harness sorted them), and an ebtables table with nothing in it
    /// printed as nothing (ebtables-nft prints the table once it was ever used).
    static func expected(_ scenario: String) throws -> RulesetText.Normalized {
        RulesetText.Normalized(
            iptables: try dump(scenario, "iptables.txt"),
            ip6tables: try dump(scenario, "ip6tables.txt"),
            ipset: try dump(scenario, "ipset.txt"),
            ebtables: try dump(scenario, "ebtables.txt"))
    }
}

extension RulesetText {
    /// Text forms compared the way the reference dumps were normalized.
    struct Normalized: Equatable, CustomStringConvertible {
        var iptables: String
        var ip6tables: String
        var ipset: String
        var ebtables: String

        init(iptables: String, ip6tables: String, ipset: String, ebtables: String) {
            self.iptables = iptables
            self.ip6tables = ip6tables
            self.ipset = ipset.split(separator: "\n").sorted().joined(separator: "\n")
            let emptyEbtables = "*nat\n:PREROUTING ACCEPT\n:OUTPUT ACCEPT\n:POSTROUTING ACCEPT\n"
            self.ebtables = ebtables == emptyEbtables ? "" : ebtables
        }

        var description: String {
            "# iptables\n\(iptables)# ip6tables\n\(ip6tables)# ipset\n\(ipset)\n# ebtables\n\(ebtables)"
        }
    }

    var normalized: Normalized {
        Normalized(iptables: iptables, ip6tables: ip6tables, ipset: ipset, ebtables: ebtables)
    }
}
