import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// `apply` against the real kernel, each test in a namespace of its own.
@Suite struct ApplyCommandTests {
    private func namespace() throws -> NetworkNamespace {
        guard let namespace = try NetworkNamespace.make("apply") else {
            throw ToolError("not root: cannot create a network namespace")
        }
        return namespace
    }

    /// After apply the four dumps equal the rendered text; a second apply
    /// finds nothing to do and commits nothing.
    @Test(arguments: GoldenHosts.scenarios, Layout.iptablesLayouts)
    func appliesExactlyTheRenderedState(scenario: String, layout: Layout) throws {
        let namespace = try namespace()
        let first = try namespace.apply(scenario, layout)
        #expect(first.hasPrefix("applied "))
        #expect(try KernelDumps.read(namespace) == GoldenHosts.expected(scenario, layout))
        #expect(try namespace.apply(scenario, layout) == "no changes\n")
    }

    /// Moving between states (a rule update, a destroy, a secondary IP, a
    /// layout switch) converges to the new state.
    @Test(arguments: [
        ["rules-update@seq1", "rules-update"],
        ["three-vms-then-destroy@before-destroy", "three-vms-then-destroy"],
        ["secondary-ip-add-remove@before-add", "secondary-ip-add-remove@after-add", "secondary-ip-add-remove"],
        ["cleanup@before-cleanup", "cleanup"],
        ["two-nics", "allow-all", "systemvm", "v4-basic"],
    ], Layout.iptablesLayouts)
    func convergesThroughChanges(steps: [String], layout: Layout) throws {
        let namespace = try namespace()
        for step in steps {
            try namespace.apply(step, layout)
            #expect(try KernelDumps.read(namespace) == GoldenHosts.expected(step, layout), "after \(step)")
        }
    }

    /// A VM-scoped apply changes that VM and what the host shares, and
    /// leaves every other VM's own objects alone, even stale ones.
    @Test(arguments: Layout.iptablesLayouts)
    func vmScopeTouchesOnlyThatVM(layout: Layout) throws {
        let namespace = try namespace()
        try namespace.apply("three-vms-then-destroy@before-destroy", layout)
        // Someone edits i-2-7-VM's chain behind our back.
        try namespace.run(TestNetfilter.current.iptables, ["-I", "i-2-7-VM", "-s", "192.0.2.1", "-j", "ACCEPT"])
        // Destroying i-2-8-VM in its scope removes its chains, sets and jumps.
        try namespace.apply("three-vms-then-destroy", layout, extra: ["--vm", "i-2-8-VM"])
        let after = try KernelDumps.read(namespace)
        var expected = try GoldenHosts.expected("three-vms-then-destroy", layout)
        expected.iptables["filter"] = expected.iptables["filter"]!.replacingOccurrences(
            of: "-A i-2-7-VM -p icmp", with: "-A i-2-7-VM -s 192.0.2.1/32 -j ACCEPT\n-A i-2-7-VM -p icmp")
        #expect(after == expected)
        // The host scope then repairs the other VM.
        try namespace.apply("three-vms-then-destroy", layout)
        #expect(try KernelDumps.read(namespace) == GoldenHosts.expected("three-vms-then-destroy", layout))
        #expect(try namespace.apply("three-vms-then-destroy", layout, extra: ["--vm", "i-2-9-VM"]) == "no changes\n")
    }

    /// A failure part-way (here: a foreign rule still jumps to a chain we
    /// must delete) leaves the failing table as it was, says what applied
    /// (on legacy x_tables ebtables and the IPv6 tables, done side by side;
    /// nf_tables refuses the tables of both families as one transaction,
    /// before ebtables is touched),
    /// and a re-run after the obstacle is gone converges.
    @Test func failureMidwayReportsAndRerunConverges() throws {
        let namespace = try namespace()
        try namespace.apply("three-vms-then-destroy@before-destroy", .notrack)
        try namespace.run(TestNetfilter.current.iptables, ["-A", "FORWARD", "-i", "eth9", "-j", "i-2-8-def"])
        let before = try KernelDumps.read(namespace)
        let failed = try namespace.securityGroups(["apply", "--host", GoldenHosts.path("three-vms-then-destroy")])
        #expect(failed.status != 0)
        let legacy = TestNetfilter.current == .legacy
        #expect(failed.stderr.hasPrefix("Error: \(legacy ? "delete chain" : "nf_tables transaction") iptables filter chain i-2-8-def: "))
        #expect(failed.stderr.split(separator: "\n").count == 1)
        if legacy {
            #expect(failed.stderr.contains("; already applied: ") && failed.stderr.contains("ip6tables filter")
                && failed.stderr.contains("ebtables nat"), "\(failed.stderr)")
        } else {
            #expect(failed.stderr.hasSuffix("; nothing was changed\n"), "\(failed.stderr)")
        }
        let after = try KernelDumps.read(namespace)
        #expect(after.iptables["filter"] == before.iptables["filter"])
        #expect(try after.ip6tables == (legacy ? GoldenHosts.expected("three-vms-then-destroy", .notrack).ip6tables : before.ip6tables))
        try namespace.run(TestNetfilter.current.iptables, ["-D", "FORWARD", "-i", "eth9", "-j", "i-2-8-def"])
        try namespace.apply("three-vms-then-destroy", .notrack)
        #expect(try KernelDumps.read(namespace) == GoldenHosts.expected("three-vms-then-destroy", .notrack))
    }

    /// On rules the script wrote, destroying one VM in its scope reaches
    /// exactly what the script's own destroy leaves.
    @Test func vmScopeDestroysOnTopOfScriptState() throws {
        let namespace = try namespace()
        try GoldenHosts.loadScriptState("three-vms-then-destroy@before-destroy", into: namespace)
        let host = try GoldenHosts.hostFile(from: "three-vms-then-destroy", keeping: [])
        defer { try? FileManager.default.removeItem(atPath: host) }
        let result = try namespace.securityGroups(["apply", "--host", host, "--layout", "classic", "--vm", "i-2-8-VM"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try KernelDumps.read(namespace) == GoldenHosts.scriptDumps("three-vms-then-destroy"))
    }

    /// On rules the script wrote, programming another VM in its scope adds
    /// exactly that VM and leaves the script's VMs as they were.
    @Test func vmScopeAddsOnTopOfScriptState() throws {
        let namespace = try namespace()
        try GoldenHosts.loadScriptState("three-vms-then-destroy", into: namespace)
        let host = try GoldenHosts.hostFile(from: "three-vms-then-destroy@before-destroy", keeping: ["i-2-8-VM"])
        defer { try? FileManager.default.removeItem(atPath: host) }
        let result = try namespace.securityGroups(["apply", "--host", host, "--layout", "classic", "--vm", "i-2-8-VM"])
        #expect(result.status == 0, "\(result.stderr)")
        func sorted(_ dumps: KernelDumps) -> [String] {
            var lines: [String] = []
            for block in Array(dumps.iptables.values) + Array(dumps.ip6tables.values) + [dumps.ebtables] {
                lines += block.split(separator: "\n").map(String.init)
            }
            return lines.sorted() + dumps.ipset
        }
        #expect(try sorted(KernelDumps.read(namespace)) == sorted(GoldenHosts.scriptDumps("three-vms-then-destroy@before-destroy")))
    }

    @Test func switchesLayoutsBothWays() throws {
        let namespace = try namespace()
        for layout in [Layout.classic, .notrack, .classic] {
            try namespace.apply("allow-all", layout)
            #expect(try KernelDumps.read(namespace) == GoldenHosts.expected("allow-all", layout), "as \(layout)")
        }
    }

    @Test func dryRunPrintsChangesAndMakesNone() throws {
        let namespace = try namespace()
        // Reading a table instantiates it in the namespace, as iptables-save does.
        for tool in [TestNetfilter.current.iptables, TestNetfilter.current.ip6tables] {
            for table in ["filter", "nat", "raw"] { try namespace.run(tool, ["-t", table, "-S"]) }
        }
        let before = try KernelDumps.read(namespace)
        let output = try namespace.apply("v4-basic", .notrack, extra: ["--dry-run"])
        #expect(output.contains("create cs_notrack hash:ip family inet"))
        #expect(output.contains("*iptables filter"))
        #expect(output.contains("-N i-2-7-def"))
        #expect(output.contains("-A sg-in -i vnet7 -j i-2-7-VM-in"))
        #expect(try KernelDumps.read(namespace) == before)
    }

    /// Chains, rules and sets of other tools, present before, are untouched
    /// after we program and then remove VMs around them.
    @Test func foreignObjectsSurvive() throws {
        let namespace = try namespace()
        for tool in [TestNetfilter.current.iptables, TestNetfilter.current.ip6tables] {
            try namespace.run(tool, ["-N", "FOREIGN"])
            try namespace.run(tool, ["-A", "FOREIGN", "-p", "tcp", "--dport", "9", "-j", "ACCEPT"])
            try namespace.run(tool, ["-A", "FORWARD", "-i", "eth9", "-j", "FOREIGN"])
            try namespace.run(tool, ["-A", "FORWARD", "-o", "cloudbr0", "-p", "udp", "-j", "DROP"])
            try namespace.run(tool, ["-t", "raw", "-A", "PREROUTING", "-i", "eth9", "-j", "CT", "--notrack"])
            try namespace.run(tool, ["-t", "nat", "-A", "PREROUTING", "-i", "eth9", "-j", "RETURN"])
        }
        try namespace.run("/usr/sbin/ipset", ["create", "foreign", "hash:ip"])
        try namespace.run("/usr/sbin/ipset", ["add", "foreign", "192.0.2.1"])
        try namespace.run("/usr/sbin/ebtables-nft", ["-t", "nat", "-N", "FOREIGN"])
        try namespace.run("/usr/sbin/ebtables-nft", ["-t", "nat", "-A", "PREROUTING", "-i", "eth9", "-j", "FOREIGN"])
        let foreign = try KernelDumps.read(namespace)

        for step in ["three-vms-then-destroy@before-destroy", "post-default", "three-vms-then-destroy"] {
            try namespace.apply(step, .notrack)
        }
        let after = try KernelDumps.read(namespace)
        let expected = try GoldenHosts.expected("three-vms-then-destroy", .notrack)
        for (table, block) in foreign.iptables {
            let foreignLines = block.split(separator: "\n").filter { !$0.hasPrefix(":") && !$0.hasPrefix("*") && $0 != "COMMIT" }
            let afterLines = (after.iptables[table] ?? "").split(separator: "\n")
            #expect(afterLines.filter { foreignLines.contains($0) } == foreignLines, "iptables \(table)")
            let ours = (expected.iptables[table] ?? "").split(separator: "\n").filter { $0.hasPrefix("-A ") }
            #expect(afterLines.filter { $0.hasPrefix("-A ") && !foreignLines.contains($0) } == ours, "ours in iptables \(table)")
        }
        for (table, block) in foreign.ip6tables {
            let foreignLines = block.split(separator: "\n").filter { $0.hasPrefix("-A ") }
            let afterLines = (after.ip6tables[table] ?? "").split(separator: "\n")
            #expect(afterLines.filter { foreignLines.contains($0) } == foreignLines, "ip6tables \(table)")
        }
        #expect(after.ipset.contains("create foreign hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12"))
        #expect(after.ipset.contains("add foreign 192.0.2.1"))
        #expect(after.ebtables.contains(":FOREIGN ACCEPT\n"))
        #expect(after.ebtables.contains("-A PREROUTING -i eth9 -j FOREIGN\n"))
    }

    /// While we apply 200 times, another iptables user adds and deletes
    /// rules in a loop: neither side loses anything.
    @Test func concurrentIptablesUserLosesNothing() throws {
        let namespace = try namespace()
        try namespace.run(TestNetfilter.current.iptables, ["-N", "OTHER"])
        let lock = NetworkNamespace.lockEnvironment["XTABLES_LOCKFILE"]!
        let count = 300
        // Adds rule i, and deletes rule i-1 when i is even: ends with the even ones.
        let loop = """
            i=1; while [ $i -le \(count) ]; do
              XTABLES_LOCKFILE=\(lock) \(TestNetfilter.current.iptables) -w -A OTHER -s 10.99.$((i / 256)).$((i % 256)) -j ACCEPT || exit 1
              if [ $((i % 2)) -eq 0 ]; then j=$((i - 1)); XTABLES_LOCKFILE=\(lock) \(TestNetfilter.current.iptables) -w -D OTHER -s 10.99.$((j / 256)).$((j % 256)) -j ACCEPT || exit 1; fi
              i=$((i + 1))
            done
            """
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        other.arguments = ["netns", "exec", namespace.name, "/bin/sh", "-c", loop]
        try other.run()
        var applies = 0
        while applies < 200 {
            try namespace.apply(applies % 2 == 0 ? "three-vms-then-destroy@before-destroy" : "three-vms-then-destroy", .notrack)
            applies += 1
        }
        other.waitUntilExit()
        #expect(other.terminationStatus == 0)
        let rules = try namespace.run(TestNetfilter.current.iptablesSave, ["-t", "filter"])
            .split(separator: "\n").filter { $0.hasPrefix("-A OTHER ") }
        let expectedOther = stride(from: 2, through: count, by: 2).map { i in "-A OTHER -s 10.99.\(i / 256).\(i % 256)/32 -j ACCEPT" }
        #expect(rules.map(String.init) == expectedOther)
        var final = try KernelDumps.read(namespace)
        final.iptables["filter"] = final.iptables["filter"]?.split(separator: "\n")
            .filter { !$0.hasPrefix("-A OTHER ") && $0 != ":OTHER - [0:0]" }.map { $0 + "\n" }.joined()
        #expect(final == (try GoldenHosts.expected("three-vms-then-destroy", .notrack)))
    }

    /// On a host whose other netfilter holds CloudStack chains (nf_tables
    /// through iptables-nft, or legacy x_tables), apply refuses; a forced
    /// legacy apply may be told to go ahead beside nf_tables.
    @Test func refusesAHostWithCloudStackRulesInTheOtherNetfilter() throws {
        let namespace = try namespace()
        let other = TestNetfilter.current.other
        try namespace.run(other.iptables, ["-N", "BF-cloudbr0"])
        let refused = try namespace.securityGroups(["apply", "--host", GoldenHosts.path("v4-basic")])
        #expect(refused.status != 0)
        let world = other == .nftables ? "nf_tables (1 chain, e.g. ip filter BF-cloudbr0)" : "legacy x_tables (1 chain, e.g. iptables filter BF-cloudbr0)"
        #expect(refused.stderr.contains("CloudStack's rules on this host are in \(world)"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(try namespace.run(TestNetfilter.current.iptablesSave, ["-t", "filter"]).contains("BF-cloudbr0") == false)
        if TestNetfilter.current == .legacy {
            let allowed = try namespace.securityGroups(["apply", "--host", GoldenHosts.path("v4-basic"), "--allow-nft-host"])
            #expect(allowed.status == 0)
        }
    }
}
