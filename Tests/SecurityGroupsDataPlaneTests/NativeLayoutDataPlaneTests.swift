import TestSupport
import Testing
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsSandbox

/// What the `native` layout promises besides the notrack layout's table
/// (NotrackLayoutDataPlaneTests runs that in `native` too): other tools'
/// tables are left alone and keep seeing packets, and a host moved to
/// `native` by `apply` goes back to the configured layout with a resync,
/// its traffic decided as before.
@Suite(.serialized) struct NativeLayoutDataPlaneTests {
    static let sshOnly = NotrackLayoutDataPlaneTests.sshOnly
    static let open = NotrackLayoutDataPlaneTests.open

    private func nft(_ sandbox: Sandbox, _ arguments: [String], input: String = "") throws -> String {
        try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace, "/usr/sbin/nft"] + arguments,
                            input: input, operation: "nft")
    }

    @Test func anotherToolsTableKeepsItsRulesAndSeesThePackets() throws {
        let sandbox = try Sandbox("natother", layout: .native, rules: [Self.sshOnly])
        let vm = sandbox.vm(1)
        let other = "table inet othertool {\n\tchain forward {\n\t\ttype filter hook forward priority 5; policy accept;\n"
            + "\t\tip daddr \(vm.ipv4) tcp dport 22 counter\n\t}\n}\n"
        _ = try nft(sandbox, ["-f", "-"], input: other)
        // An agent command's transaction beside it.
        try sandbox.host.setRules(vm, Self.sshOnly)
        #expect(try sandbox.dropped(Probe(.tcp, to: vm.ipv4, port: 80), control: Probe(.tcp, to: vm.ipv4, port: 22), from: sandbox.outside))
        let listed = try nft(sandbox, ["list", "table", "inet", "othertool"])
        #expect(listed.contains("ip daddr \(vm.ipv4) tcp dport 22 counter packets "), "\(listed)")
        #expect(!listed.contains("counter packets 0 "), "it counted the ssh connection: \(listed)")
    }

    @Test func resyncTakesANativeHostBackToTheConfiguredLayout() throws {
        let sandbox = try Sandbox("natback", layout: .notrack, rules: [Self.sshOnly, Self.open])
        try sandbox.host.applyRecorded(layout: .native)
        #expect(try nft(sandbox, ["list", "tables"]).contains(NativeRuleset.tableName))
        let line = try sandbox.host.resync()
        #expect(line.hasPrefix("resync: 2 VMs, "), "\(line)")
        #expect(try !nft(sandbox, ["list", "tables"]).contains(NativeRuleset.tableName))
        let first = sandbox.vm(1), second = sandbox.vm(2)
        #expect(try sandbox.dropped(Probe(.tcp, to: first.ipv4, port: 80), control: Probe(.tcp, to: first.ipv4, port: 22), from: sandbox.outside))
        #expect(try sandbox.delivered(Probe(.udp, to: second.ipv6, port: 53), from: sandbox.outside))
        #expect(try sandbox.conntrackEntries(ofVM: 2) == 0, "the open VM stays untracked in notrack")
    }
}
