import Foundation
import Testing
import SecurityGroupsCore

/// Our text forms must be exactly what the kernel tools print: load each
/// rendered ruleset with the restore tools into a fresh namespace, save it
/// back, and compare. This checks the `notrack` layout, which has no
/// reference dump, against the kernel's own answer.
@Suite(.serialized) struct TextRoundTripTests {
    static let goldenRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SecurityGroupsCoreTests/Fixtures/golden")
    static let exampleHost = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/host.json")

    static var hosts: [String] {
        ["example"] + ["allow-all", "dualstack-secips", "post-default", "systemvm", "two-nics", "egress-restricted", "many-cidrs"]
    }

    static func host(_ name: String) throws -> HostState {
        let url = name == "example" ? exampleHost : goldenRoot.appendingPathComponent(name).appendingPathComponent("host.json")
        return try HostFile.decode(Data(contentsOf: url))
    }

    @Test(arguments: hosts, Layout.allCases)
    func kernelPrintsWhatWeRender(host name: String, layout: Layout) throws {
        let text = RulesetText(Renderer.render(try Self.host(name), layout: layout))
        guard let namespace = try NetworkNamespace.make("text") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        try namespace.run("/usr/sbin/ipset", ["restore"], input: text.ipset)
        try namespace.run("/usr/sbin/iptables-legacy-restore", input: text.iptables)
        try namespace.run("/usr/sbin/ip6tables-legacy-restore", input: text.ip6tables)
        if !text.ebtables.isEmpty {
            try namespace.run("/usr/sbin/ebtables-nft-restore", input: text.ebtables)
        }
        #expect(try Saved.tables(namespace.run("/usr/sbin/iptables-legacy-save")) == Saved.tables(text.iptables))
        #expect(try Saved.tables(namespace.run("/usr/sbin/ip6tables-legacy-save")) == Saved.tables(text.ip6tables))
        #expect(try Saved.sortedIPSet(namespace.run("/usr/sbin/ipset", ["save"])) == Saved.sortedIPSet(text.ipset))
        #expect(try Saved.iptables(namespace.run("/usr/sbin/ebtables-nft-save")) == text.ebtables)
    }
}

/// The saved text normalized as the reference dumps are.
enum Saved {
    /// Comment lines dropped.
    static func iptables(_ text: String) -> String {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0 + "\n" }.joined()
    }

    /// Each table's block by table name: iptables-save lists tables in the
    /// order the kernel loaded them, which says nothing about the rules.
    static func tables(_ text: String) -> [String: String] {
        var tables: [String: String] = [:]
        var current = ""
        for line in iptables(text).split(separator: "\n") {
            if line.hasPrefix("*") { current = String(line.dropFirst()) }
            tables[current, default: ""] += line + "\n"
        }
        return tables
    }

    /// `initval` dropped, lines sorted.
    static func sortedIPSet(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            guard let range = line.range(of: " initval ") else { return String(line) }
            return String(line[..<range.lowerBound])
        }.sorted()
    }
}
