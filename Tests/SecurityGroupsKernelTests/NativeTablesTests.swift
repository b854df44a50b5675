import Testing
import SecurityGroupsCore
@testable import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// The `native` layout's tables through libnftables: every reference host
/// loads in one transaction and nf_tables holds what was written (each
/// chain with as many rules, each set and map with as many elements), the
/// next host replaces it entirely, and another tool's table stays as it was.
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
        _ = try namespace.run("/usr/sbin/nft", ["-f", "-"], input: Self.otherTool)
        for scenario in TextRoundTripTests.hosts {
            let native = try NativeRuleset(Renderer.render(try TextRoundTripTests.host(scenario), layout: .native))
            try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: native) }
            for (family, written) in zip(NativeRuleset.families, native.tables) {
                let listed = try namespace.run("/usr/sbin/nft", ["list", "table", family, NativeRuleset.tableName])
                #expect(Self.shape(listed) == Self.shape(written), "\(scenario) \(family)")
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

    /// A script the kernel refuses changes nothing, and the error says why.
    @Test func aRefusedScriptChangesNothing() throws {
        guard let namespace = try NetworkNamespace.make("nativebad") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        let good = try NativeRuleset(Renderer.render(try TextRoundTripTests.host("v4-basic"), layout: .native))
        try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: good) }
        let before = try namespace.run("/usr/sbin/nft", ["list", "ruleset"])
        var ruleset = Renderer.render(try TextRoundTripTests.host("two-nics"), layout: .native)
        // A jump to a chain that does not exist: nft refuses the whole script.
        ruleset.ipv4.filter.chains["i-2-7-VM", default: []].append(IPTablesRule(target: .jump("no-such-chain")))
        let bad = try NativeRuleset(ruleset)
        #expect {
            try NamespaceThread.run(in: namespace.name) { try NativeTables.replace(with: bad) }
        } throws: { error in
            guard let error = error as? NetfilterError else { return false }
            return error.operation == "nft load" && error.object == "nf_tables cloudstack_sg" && !error.reason.contains("\n")
        }
        #expect(try namespace.run("/usr/sbin/nft", ["list", "ruleset"]) == before)
    }

    /// Each chain's rule count and each set's and map's element count: what
    /// nft lists in its own words (`meta l4proto icmp` for `1`, padded
    /// marks) has the same shape as what we wrote. A set that merges
    /// adjacent members into ranges (`auto-merge`) counts 1 when not empty.
    static func shape(_ text: String) -> [String: Int] {
        var shape: [String: Int] = [:]
        var object: String?
        var merging: [String] = []
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let words = line.split(separator: " ")
            if ["chain", "set", "map"].contains(words.first), words.count == 3, words[2] == "{" {
                object = "\(words[0]) \(words[1])"
                shape[object!] = 0
            } else if line == "auto-merge", let current = object {
                merging.append(current)
            } else if line == "}" {
                object = nil
            } else if let current = object, current.hasPrefix("chain"), !line.hasPrefix("type ") {
                shape[current]! += 1
            } else if let current = object, line.hasPrefix("elements = {") || !current.hasPrefix("chain") && line.hasSuffix(",") || line.hasSuffix(" }") {
                let elements = line.replacingOccurrences(of: "elements = {", with: "").split(separator: ",")
                    .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && $0.trimmingCharacters(in: .whitespaces) != "}" }
                shape[current]! += elements.count
            }
        }
        for merged in merging { shape[merged] = min(shape[merged]!, 1) }
        return shape
    }
}
