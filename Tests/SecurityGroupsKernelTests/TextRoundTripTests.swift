import Foundation
import Testing
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// Our text forms must be exactly what the kernel tools print, in both
/// worlds a host may use: load each rendered ruleset with the restore tools
/// (iptables-legacy, or iptables-nft as on Debian 12 and EL9) into a fresh
/// namespace, save it back, and compare. This checks the `notrack` layout,
/// which has no reference dump, against the kernel's own answer. Then read
/// what the tools wrote with our readers. Legacy: our decoder understands
/// an entry only when our encoder gives back the same bytes, so every rule
/// read back as rendered shows our encoding is iptables-legacy's, byte for
/// byte. nf_tables: every rule iptables-nft wrote reads back as rendered
/// (docs/nftables-notes.md); and what we write there ourselves, in one
/// transaction, iptables-nft-save prints as rendered. (A set match on
/// bridge ports carries a flag iptables cannot write: such rules the tools
/// wrote read back as not ours, as after an iptables-save and restore.)
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

    /// Which netfilter holds the tables, and who writes them there.
    enum World: String, CaseIterable {
        /// Legacy x_tables, written by iptables-legacy-restore.
        case legacy
        /// nf_tables, written by iptables-nft-restore.
        case nft
        /// nf_tables, written by our own transaction (`IPTablesNFTTable.sync` on a fresh host).
        case nftByUs

        var tool: String { self == .legacy ? "legacy" : "nft" }

        func write(_ ruleset: Ruleset, _ text: RulesetText, in namespace: NetworkNamespace) throws {
            guard self == .nftByUs else {
                try namespace.run("/usr/sbin/iptables-\(tool)-restore", input: text.iptables)
                try namespace.run("/usr/sbin/ip6tables-\(tool)-restore", input: text.ip6tables)
                return
            }
            _ = try NamespaceThread.run(in: namespace.name) { try IPTablesNFTTable.sync(ruleset) }
        }

        /// A table as our reader for this world reads it.
        func read(_ name: IPTable.Name, _ family: AddressFamily) throws -> KernelTableState {
            switch self {
            case .legacy: try SystemHost(libvirtURI: "test:///default", netfilter: .legacy).table(name, family, scope: .host)
            case .nft, .nftByUs: try IPTablesNFTTable.read(name, family, scope: .host)
            }
        }
    }

    @Test(arguments: hosts, Layout.iptablesLayouts)
    func kernelPrintsAndWeReadWhatWeRender(host name: String, layout: Layout) throws {
        let ruleset = Renderer.render(try Self.host(name), layout: layout)
        let text = RulesetText(ruleset)
        for world in World.allCases {
            guard let namespace = try NetworkNamespace.make("text") else {
                try #require(Bool(false), "not root: cannot create a network namespace")
                return
            }
            try namespace.run("/usr/sbin/ipset", ["restore"], input: text.ipset)
            try world.write(ruleset, text, in: namespace)
            if !text.ebtables.isEmpty {
                try namespace.run("/usr/sbin/ebtables-nft-restore", input: text.ebtables)
            }
            let expected = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
            let dumps = KernelDumps(iptables: try namespace.run("/usr/sbin/iptables-\(world.tool)-save"),
                                    ip6tables: try namespace.run("/usr/sbin/ip6tables-\(world.tool)-save"),
                                    ipset: try namespace.run("/usr/sbin/ipset", ["save"]), ebtables: try namespace.run("/usr/sbin/ebtables-nft-save"))
            #expect(dumps == expected, "\(world): \(dumps.difference(from: expected))")

            let read = try NamespaceThread.run(in: namespace.name) {
                try AddressFamily.allCases.flatMap { family in try IPTable.Name.allCases.map { try world.read($0, family) } }
            }
            Self.expectReadBack(ruleset, read, world)
            if world == .legacy { try Self.expectEbtablesReadBack(ruleset.ebtables, in: namespace) }
        }
    }

    /// The ebtables chains read over netlink (`EbtablesNFTChains`: those of
    /// port jumps and bare verdicts) read as rendered, and as ebtables
    /// prints them; the other chains are left to the tool. The built-in
    /// chains are always of that kind.
    private static func expectEbtablesReadBack(_ desired: EbtablesTable, in namespace: NetworkNamespace) throws {
        let chains = EbtablesTable.builtinChains.map { ($0, desired.builtinRules[$0] ?? []) } + desired.chains.map { ($0.key, $0.value) }
        for (chain, rules) in chains {
            let read = try NamespaceThread.run(in: namespace.name) { try EbtablesNFTChains.rules(of: chain) }
            if EbtablesTable.builtinChains.contains(chain) { #expect(read != nil, "\(chain) was not read over netlink") }
            guard let read else { continue }
            #expect(read == rules.map(EbtablesSaveFormat.body), "\(chain)")
            let listed = try namespace.run("/usr/sbin/ebtables-nft", ["-t", "nat", "-L", chain, "--Lx"]).split(separator: "\n")
                .filter { $0.hasPrefix("-") }.map(String.init)
            #expect(read == listed, "\(chain): as ebtables lists it")
        }
    }

    /// Every chain of `ruleset` as `read` (IPv4 filter, nat, raw, then IPv6)
    /// holds it; rules with a set match on bridge ports that a tool wrote
    /// read back as not ours, for the flag no iptables tool writes.
    private static func expectReadBack(_ ruleset: Ruleset, _ read: [KernelTableState], _ world: World) {
        func readBack(_ rules: [IPTablesRule]) -> [KernelRule] {
            rules.map { rule in
                let flagged = rule.matches.contains { if case .set(let set) = $0 { set.portDirection != nil } else { false } }
                return flagged && world != .nftByUs ? .opaque : .known(rule)
            }
        }
        for family in AddressFamily.allCases {
            for desired in ruleset.iptables(family).tables {
                let kernel = read[(family == .ipv4 ? 0 : 3) + IPTable.Name.allCases.firstIndex(of: desired.name)!]
                for (chain, rules) in desired.chains.merging(desired.builtinRules, uniquingKeysWith: { first, _ in first }) {
                    let same = kernel.chains[chain] == readBack(rules)
                    #expect(same, "\(world) \(family) \(desired.name) \(chain): \(kernel.chains[chain] ?? []) read, \(rules.count) rendered")
                }
            }
        }
    }
}
