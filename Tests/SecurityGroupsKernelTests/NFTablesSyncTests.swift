import Testing
import SecurityGroupsCore
@testable import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// The nf_tables writer follows a host through the reference scenarios'
/// changes as on legacy x_tables: each step planned against what nf_tables
/// holds and sent as one transaction, after which iptables-nft-save prints
/// exactly the step's rendered text, and the same step again changes nothing.
@Suite(.serialized) struct NFTablesSyncTests {
    static let steps: [[String]] = [
        ["three-vms-then-destroy@before-destroy", "three-vms-then-destroy"],
        ["rules-update@seq1", "rules-update@seq2", "rules-update"],
        ["secondary-ip-add-remove@before-add", "secondary-ip-add-remove@after-add", "secondary-ip-add-remove"],
        ["cleanup@before-cleanup", "cleanup"],
        ["two-nics", "allow-all", "post-default"],
    ]

    @Test(arguments: steps, Layout.iptablesLayouts)
    func convergesThroughChanges(steps: [String], layout: Layout) throws {
        guard let namespace = try NetworkNamespace.make("nftsync") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        for (index, step) in steps.enumerated() {
            let ruleset = Renderer.render(try TextRoundTripTests.host(step), layout: layout)
            let text = RulesetText(ruleset)
            // Sets first, as the applier adds them before the tables.
            try namespace.run("/usr/sbin/ipset", ["restore", "-exist"], input: text.ipset)
            let edits = try NamespaceThread.run(in: namespace.name) { try IPTablesNFTTable.sync(ruleset).editCount }
            // (Later steps may change only sets or ebtables.)
            if index == 0 { #expect(edits > 0, "\(step)") }
            let saved = KernelDumps(iptables: try namespace.run("/usr/sbin/iptables-nft-save"),
                                    ip6tables: try namespace.run("/usr/sbin/ip6tables-nft-save"), ipset: "", ebtables: "")
            let expected = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: "", ebtables: "")
            #expect(saved == expected, "\(step): \(saved.difference(from: expected))")
            #expect(try NamespaceThread.run(in: namespace.name) { try IPTablesNFTTable.sync(ruleset).editCount } == 0, "\(step) again")
        }
    }

    /// One VM's scope changes its objects and its share of the bridge
    /// chains, leaving the other VMs' as they are.
    @Test func aVMScopeChangesOnlyItsShare() throws {
        guard let namespace = try NetworkNamespace.make("nftvm") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        let before = try TextRoundTripTests.host("three-vms-then-destroy@before-destroy")
        let after = try TextRoundTripTests.host("three-vms-then-destroy")
        let gone = try #require(before.vms.first { vm in !after.vms.contains { $0.name == vm.name } })
        let host = Renderer.render(before, layout: .notrack)
        try namespace.run("/usr/sbin/ipset", ["restore"], input: RulesetText(host).ipset)
        _ = try NamespaceThread.run(in: namespace.name) { try IPTablesNFTTable.sync(host) }
        let scope = Scope.vm(gone.name, vifs: Set(gone.nics.map(\.vif.rawValue)))
        _ = try NamespaceThread.run(in: namespace.name) { try IPTablesNFTTable.sync(Renderer.render(after, layout: .notrack, scope: scope)) }
        let text = RulesetText(Renderer.render(after, layout: .notrack))
        let saved = KernelDumps(iptables: try namespace.run("/usr/sbin/iptables-nft-save"),
                                ip6tables: try namespace.run("/usr/sbin/ip6tables-nft-save"), ipset: "", ebtables: "")
        let expected = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: "", ebtables: "")
        #expect(saved == expected, "\(saved.difference(from: expected))")
    }

    /// A transaction planned on a generation the rule set has left is
    /// refused whole (ERESTART), so a change another tool made between our
    /// read and our write is never overwritten; `sync` then plans again.
    @Test func aChangeBetweenReadAndWriteIsRefused() throws {
        guard let namespace = try NetworkNamespace.make("nftgen") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        let ruleset = Renderer.render(try TextRoundTripTests.host("two-nics"), layout: .classic)
        try namespace.run("/usr/sbin/ipset", ["restore"], input: RulesetText(ruleset).ipset)
        _ = try NamespaceThread.run(in: namespace.name) { try IPTablesNFTTable.sync(ruleset).editCount }
        let generation = try NamespaceThread.run(in: namespace.name) { try NFTablesRules.generation() }
        try namespace.run("/usr/sbin/iptables-nft", ["-N", "another-tools-chain"])
        let refused = try NamespaceThread.run(in: namespace.name) { () -> Int32? in
            let message: NetfilterNetlink.Message = (10 << 8 | 3, 0x400, NFTablesChains.ipv4,
                                                     NFTablesMessages.string(1, "filter") + NFTablesMessages.string(3, "ours"), "chain ours")
            do {
                try NetfilterNetlink(subject: "nf_tables").transact([message], generation: generation)
                return nil
            } catch {
                return (error as? NetfilterError)?.errno
            }
        }
        #expect(refused == 85)
        let saved = try namespace.run("/usr/sbin/iptables-nft-save", ["-t", "filter"])
        #expect(saved.contains(":another-tools-chain") && !saved.contains(":ours "))
    }
}
