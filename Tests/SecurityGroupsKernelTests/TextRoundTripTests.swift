import Foundation
import Testing
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// Our text forms must be exactly what the kernel tools print: load each
/// rendered ruleset with the restore tools into a fresh namespace, save it
/// back, and compare. This checks the `notrack` layout, which has no
/// reference dump, against the kernel's own answer. Then read the entries
/// iptables-legacy wrote with our decoder: it understands an entry only
/// when our encoder gives back the same bytes, so every rule read back as
/// rendered shows our encoding is iptables-legacy's, byte for byte. (A set
/// match on bridge ports carries a flag iptables cannot write: such rules
/// read back as not ours, as after an iptables-save and restore.)
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
        let expected = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
        #expect(try KernelDumps.read(namespace) == expected)

        let ruleset = Renderer.render(try Self.host(name), layout: layout)
        let read = try NamespaceThread.run(in: namespace.name) {
            try AddressFamily.allCases.flatMap { family in
                try IPTable.Name.allCases.map { try SystemHost(libvirtURI: "test:///default").table($0, family, scope: .host) }
            }
        }
        Self.expectReadBack(ruleset, read)
    }

    /// Every chain of `ruleset` as `read` (IPv4 filter, nat, raw, then IPv6)
    /// holds it; rules with a set match on bridge ports read back as not
    /// ours, for the flag no iptables tool writes.
    private static func expectReadBack(_ ruleset: Ruleset, _ read: [KernelTableState]) {
        func readBack(_ rules: [IPTablesRule]) -> [KernelRule] {
            rules.map { rule in
                rule.matches.contains { if case .set(let set) = $0 { set.portDirection != nil } else { false } } ? .opaque : .known(rule)
            }
        }
        for family in AddressFamily.allCases {
            for desired in ruleset.iptables(family).tables {
                let kernel = read[(family == .ipv4 ? 0 : 3) + IPTable.Name.allCases.firstIndex(of: desired.name)!]
                for (chain, rules) in desired.chains.merging(desired.builtinRules, uniquingKeysWith: { first, _ in first }) {
                    let same = kernel.chains[chain] == readBack(rules)
                    #expect(same, "\(family) \(desired.name) \(chain): \(kernel.chains[chain] ?? []) read, \(rules.count) rendered")
                }
            }
        }
    }

    /// On an nf_tables host the script's rules are the same text, held by
    /// nf_tables (docs/nftables-notes.md): every rendered host, both
    /// layouts, loaded through the `-nft` restore tools, reads back unchanged.
    @Test(arguments: hosts, Layout.allCases)
    func nfTablesPrintsWhatWeRender(host name: String, layout: Layout) throws {
        let text = RulesetText(Renderer.render(try Self.host(name), layout: layout))
        guard let namespace = try NetworkNamespace.make("nfttext") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        try namespace.run("/usr/sbin/ipset", ["restore"], input: text.ipset)
        try namespace.run("/usr/sbin/iptables-nft-restore", input: text.iptables)
        try namespace.run("/usr/sbin/ip6tables-nft-restore", input: text.ip6tables)
        if !text.ebtables.isEmpty {
            try namespace.run("/usr/sbin/ebtables-nft-restore", input: text.ebtables)
        }
        let expected = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
        let dumps = KernelDumps(iptables: try namespace.run("/usr/sbin/iptables-nft-save"), ip6tables: try namespace.run("/usr/sbin/ip6tables-nft-save"),
                               ipset: try namespace.run("/usr/sbin/ipset", ["save"]), ebtables: try namespace.run("/usr/sbin/ebtables-nft-save"))
        #expect(dumps == expected, "\(dumps.difference(from: expected))")
        // And our reader of nf_tables takes each rule iptables-nft wrote for the rendered one.
        let tables = try NamespaceThread.run(in: namespace.name) {
            try AddressFamily.allCases.flatMap { family in try IPTable.Name.allCases.map { try IPTablesNFTTable.read($0, family, scope: .host) } }
        }
        Self.expectReadBack(Renderer.render(try Self.host(name), layout: layout), tables)
    }
}
