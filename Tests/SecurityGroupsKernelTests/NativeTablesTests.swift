import Testing
import SecurityGroupsCore
@testable import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// The `native` layout's tables through our netlink writer: every reference
/// host loads in one transaction, and nft lists exactly what it lists after
/// loading the same tables' text itself (`nft -f`, in a second namespace);
/// the next host replaces it entirely, and another tool's table stays as it was.
@Suite(.serialized) struct NativeTablesTests {
    static let otherTool = """
        table inet othertool {
        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \t\ttcp dport 2222 counter packets 0 bytes 0 accept
        \t}
        }

        """

    @Test func everyHostLoadsAndReplacesTheOneBefore() throws {
        guard let namespace = try NetworkNamespace.make("native") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        guard let reference = try NetworkNamespace.make("nativeref") else { return }
        _ = try namespace.run("/usr/sbin/nft", ["-f", "-"], input: Self.otherTool)
        let removal = NativeRuleset.tableNames.map { "table \($0)\ndelete table \($0)\n" }.joined()
        for scenario in TextRoundTripTests.hosts {
            let native = try NativeRuleset(Renderer.render(try TextRoundTripTests.host(scenario), layout: .native))
            try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: native) }
            _ = try reference.run("/usr/sbin/nft", ["-f", "-"], input: removal + native.text)
            for family in NativeRuleset.families {
                let arguments = ["list", "table", family, NativeRuleset.tableName]
                #expect(try namespace.run("/usr/sbin/nft", arguments) == reference.run("/usr/sbin/nft", arguments), "\(scenario) \(family)")
            }
            let listing = try NamespaceThread.run(in: namespace.name) { try NativeTables.listing() }
            #expect(listing.components(separatedBy: "table ").count - 1 == 3)
        }
        try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: nil) }
        let tables = try namespace.run("/usr/sbin/nft", ["list", "tables"])
        #expect(!tables.contains(NativeRuleset.tableName))
        #expect(try namespace.run("/usr/sbin/nft", ["list", "table", "inet", "othertool"]) == Self.otherTool)
        // Removing what is not there is no error.
        try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: nil) }
    }

    /// A transaction the kernel refuses changes nothing, and the error names the rule.
    @Test func aRefusedScriptChangesNothing() throws {
        guard let namespace = try NetworkNamespace.make("nativebad") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        let good = try NativeRuleset(Renderer.render(try TextRoundTripTests.host("v4-basic"), layout: .native))
        try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: good) }
        let before = try namespace.run("/usr/sbin/nft", ["list", "ruleset"])
        var ruleset = Renderer.render(try TextRoundTripTests.host("two-nics"), layout: .native)
        // A jump to a chain that does not exist: the kernel refuses the whole transaction.
        ruleset.ipv4.filter.chains["sg-open-sender", default: []].append(IPTablesRule(target: .jump("no-such-chain")))
        let bad = try NativeRuleset(ruleset)
        #expect {
            try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: bad) }
        } throws: { error in
            guard let error = error as? NetfilterError else { return false }
            return error.operation == "nf_tables transaction" && error.object.hasSuffix(" of chain sg-open-sender in ip cloudstack_sg")
                && !error.reason.contains("\n")
        }
        #expect(try namespace.run("/usr/sbin/nft", ["list", "ruleset"]) == before)
    }
}
