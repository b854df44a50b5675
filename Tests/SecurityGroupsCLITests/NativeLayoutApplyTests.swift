import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// A whole host moving to the `native` layout and back with `apply`: one
/// rule set at every step, never two (the script's or ours).
@Suite struct NativeLayoutApplyTests {
    static let scenario = "three-vms-then-destroy@before-destroy"

    private func namespace() throws -> NetworkNamespace {
        guard let namespace = try NetworkNamespace.make("native") else {
            throw ToolError("not root: cannot create a network namespace")
        }
        return namespace
    }

    private func nativeTables(_ namespace: NetworkNamespace) throws -> [String] {
        try namespace.run("/usr/sbin/nft", ["list", "tables"]).split(separator: "\n").map(String.init)
            .filter { $0.hasSuffix(" \(NativeRuleset.tableName)") }
    }

    /// What the iptables layouts leave that is CloudStack's, in the four dumps.
    private func cloudStackObjects(_ dumps: KernelDumps) -> [String] {
        let lines = (dumps.iptables.values.joined() + dumps.ip6tables.values.joined() + dumps.ebtables).split(separator: "\n")
        return lines.filter { $0.contains("BF-") || $0.contains("i-2-") || $0.contains("sg-") } .map(String.init) + dumps.ipset
    }

    @Test func aHostTheScriptProgrammedMovesToNativeAndBack() throws {
        let namespace = try namespace()
        try GoldenHosts.loadScriptState(Self.scenario, into: namespace)
        #expect(!cloudStackObjects(try KernelDumps.read(namespace)).isEmpty)

        let output = try namespace.apply(Self.scenario, .native)
        #expect(output.hasPrefix("applied ") && output.contains("committed nft ip cloudstack_sg, nft ip6 cloudstack_sg, nft bridge cloudstack_sg"),
                "\(output)")
        #expect(try nativeTables(namespace) == ["table ip cloudstack_sg", "table ip6 cloudstack_sg", "table bridge cloudstack_sg"])
        #expect(cloudStackObjects(try KernelDumps.read(namespace)) == [], "the script's rules are gone with the same apply")
        let listed = try namespace.run("/usr/sbin/nft", ["list", "table", "ip", NativeRuleset.tableName])
        // The VMs' default chains jump to chains shared by content (SharedChains).
        for chain in ["i-2-7-def", "i-2-8-def", "i-2-9-def", "BF-cloudbr0", SharedChains.prefix] { #expect(listed.contains("chain \(chain)"), "\(chain)") }
        #expect(!listed.contains("chain i-2-8-VM {"))

        // Back to notrack: exactly its state, and no native table left.
        try namespace.apply(Self.scenario, .notrack)
        #expect(try nativeTables(namespace) == [])
        #expect(try KernelDumps.read(namespace) == GoldenHosts.expected(Self.scenario, .notrack))
    }

    /// Never two rule sets: on a native host, a command that would write the
    /// iptables tables for some VMs refuses and changes nothing, and on a
    /// host whose CloudStack rules are in the iptables tables a write of the
    /// native tables for one VM refuses; a dry run changes nothing either.
    /// A VM's apply on a native host changes only its share (here nothing
    /// but its ports' ids: the tables already hold the file's state).
    @Test func vmScopedWritesStayInTheHostsLayout() throws {
        let namespace = try namespace()
        let dryRun = try namespace.securityGroups(["apply", "--host", GoldenHosts.path(Self.scenario), "--layout", "native", "--dry-run"])
        #expect(dryRun.status == 0 && dryRun.stdout.hasPrefix("*nft\ntable ip cloudstack_sg {"))
        #expect(try nativeTables(namespace) == [])
        try namespace.apply(Self.scenario, .notrack)
        let nativeVM = try namespace.securityGroups(["apply", "--host", GoldenHosts.path(Self.scenario), "--layout", "native", "--vm", "i-2-7-VM"])
        #expect(nativeVM.status != 0 && nativeVM.stderr.contains("would be a second rule set"), "\(nativeVM.stderr)")
        #expect(try nativeTables(namespace) == [])

        try namespace.apply(Self.scenario, .native)
        let before = try namespace.run("/usr/sbin/nft", ["list", "ruleset"])
        // The agent's command configured for notrack (unset, an nf_tables host would take native).
        let notrack = FileManager.default.temporaryDirectory.appendingPathComponent("sgtest-\(getpid())-notrack.conf").path
        try "layout = notrack\nnetfilter = \(TestNetfilter.current.setting)\n".write(toFile: notrack, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: notrack) }
        for arguments in [["apply", "--host", GoldenHosts.path(Self.scenario), "--layout", "notrack", "--vm", "i-2-7-VM"],
                          ["destroy_network_rules_for_vm", "--vmname", "i-2-8-VM"]] {
            let refused = try namespace.exec(BinaryRunner.binary.path, arguments,
                                             environment: NetworkNamespace.lockEnvironment.merging(["SECURITY_GROUPS_CONFIG": notrack]) { first, _ in first })
            #expect(refused.status != 0, "\(arguments)")
            #expect(refused.stderr.contains("this host is programmed in the native layout"), "\(refused.stderr)")
        }
        #expect(try namespace.run("/usr/sbin/nft", ["list", "ruleset"]) == before)
        let tables = try NativeAgentCommandsTests.tables(namespace)
        let vmScoped = try namespace.securityGroups(["apply", "--host", GoldenHosts.path(Self.scenario), "--layout", "native", "--vm", "i-2-7-VM"])
        #expect(vmScoped.status == 0, "\(vmScoped.stderr)")
        #expect(NativeAgentCommandsTests.difference(try NativeAgentCommandsTests.tables(namespace), tables) == "")

        // A destroy in native of a VM nothing recorded (no record of its bridge either).
        try "layout = native\nnetfilter = \(TestNetfilter.current.setting)\n".write(toFile: notrack, atomically: true, encoding: .utf8)
        let destroyed = try namespace.exec(BinaryRunner.binary.path, ["destroy_network_rules_for_vm", "--vmname", "i-2-8-VM"],
                                           environment: NetworkNamespace.lockEnvironment.merging(["SECURITY_GROUPS_CONFIG": notrack]) { first, _ in first })
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        let left = try NativeAgentCommandsTests.tables(namespace).filter { key, elements in key.contains("i-2-8") || elements.contains { $0.contains("i-2-8") } }
        #expect(left.isEmpty, "\(left)")
    }
}
