import Foundation
import Testing
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// `security-groups resync` on a sandbox host: after a reboot (new vif
/// names, empty kernel, empty run_dir), after drift, with a VM gone, with a
/// corrupt state file.
@Suite(.serialized) struct ResyncDataPlaneTests {
    static let rules = [NotrackLayoutDataPlaneTests.open, NotrackLayoutDataPlaneTests.sshOnly, NotrackLayoutDataPlaneTests.egressRestricted]

    private func dumps(_ sandbox: Sandbox) throws -> KernelDumps {
        try KernelDumps.read(namespaceNamed: sandbox.host.hostNamespace)
    }

    /// The dumps with each vif renamed as a reboot renames it.
    private func renamed(_ dumps: KernelDumps, by offset: Int, vms: Int) throws -> KernelDumps {
        func rename(_ text: String) -> String {
            (1...vms).reversed().reduce(text) { text, number in
                text.replacingOccurrences(of: "tap\(number)(?![0-9])", with: "tap\(number + offset)", options: .regularExpression)
            }
        }
        return KernelDumps(iptables: dumps.iptables.keys.sorted().map { rename(dumps.iptables[$0]!) }.joined(),
                           ip6tables: dumps.ip6tables.keys.sorted().map { rename(dumps.ip6tables[$0]!) }.joined(),
                           ipset: rename(dumps.ipset.joined(separator: "\n")), ebtables: rename(dumps.ebtables))
    }

    /// The dumps without the port dispatch chains and the jumps into them.
    private func withoutDispatch(_ dumps: KernelDumps) -> KernelDumps {
        func strip(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.contains(" sg-in") && !$0.contains(" sg-out") && !$0.hasPrefix(":sg-") }.joined(separator: "\n")
        }
        var result = dumps
        result.iptables = dumps.iptables.mapValues(strip)
        result.ip6tables = dumps.ip6tables.mapValues(strip)
        result.ebtables = strip(dumps.ebtables)
        return result
    }

    private func ruleLogs(_ sandbox: Sandbox) throws -> [String: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: sandbox.host.runDirectory)
        return try Dictionary(uniqueKeysWithValues: names.map { ($0, try String(contentsOfFile: "\(sandbox.host.runDirectory)/\($0)", encoding: .utf8)) })
    }

    @Test(arguments: Layout.iptablesLayouts)
    func rebootRestoresTheSameRulesUnderTheNewNames(layout: Layout) throws {
        let sandbox = try Sandbox("reboot", layout: layout, rules: Self.rules)
        let before = try dumps(sandbox)
        let logs = try ruleLogs(sandbox)
        try sandbox.reboot()
        #expect(try ruleLogs(sandbox).isEmpty)
        let line = try sandbox.host.resync()
        #expect(line.hasPrefix("resync: 3 VMs, "), "\(line)")
        // The port dispatch tree depends on the names' shared prefixes, so
        // it is compared apart from the rest; the probes below show it works.
        let after = withoutDispatch(try dumps(sandbox))
        let expected = withoutDispatch(try renamed(before, by: 100, vms: 3))
        #expect(after == expected, "\(after.difference(from: expected))")
        #expect(try ruleLogs(sandbox) == logs, "rule logs written again")
        #expect(try sandbox.delivered(Probe(.tcp, to: sandbox.vm(1).ipv4, port: 22), from: sandbox.outside))
        #expect(try sandbox.dropped(Probe(.tcp, to: sandbox.vm(2).ipv4, port: 80),
                                    control: Probe(.tcp, to: sandbox.vm(2).ipv4, port: 22), from: sandbox.outside))
        #expect(try sandbox.delivered(Probe(.tcp, to: sandbox.vm(2).ipv6, port: 22), from: sandbox.outside))
        #expect(try sandbox.dropped(Probe(.tcp, to: SandboxHost.outsideIPv4, port: 22),
                                    control: Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80), from: sandbox.namespace(3)))
        #expect(try sandbox.host.resync().contains(" 0 changes "), "a second resync changes nothing")
    }

    @Test func driftIsRepaired() throws {
        let sandbox = try Sandbox("drift", layout: .notrack, rules: Self.rules)
        let before = try dumps(sandbox)
        let host = sandbox.host.hostNamespace
        for (program, arguments) in [(TestNetfilter.current.iptables, ["-F", "i-2-2-VM"]), (TestNetfilter.current.ip6tables, ["-D", "FORWARD", "1"]),
                                     (TestNetfilter.current.iptables, ["-t", "raw", "-F", "PREROUTING"]), ("/usr/sbin/ipset", ["flush", "i-2-1-VM"]),
                                     ("/usr/sbin/ebtables-nft", ["-t", "nat", "-F", "i-2-3-VM-in-src"])] {
            _ = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", host, program] + arguments, operation: program)
        }
        #expect(try dumps(sandbox) != before)
        try sandbox.host.resync()
        let after = try dumps(sandbox)
        #expect(after == before, "\(after.difference(from: before))")
    }

    @Test func aVMThatIsGoneLosesItsRulesAndKeepsItsRecord() throws {
        let sandbox = try Sandbox("gone", layout: .notrack, rules: Self.rules)
        try sandbox.host.stop(sandbox.vm(2))
        let line = try sandbox.host.resync()
        #expect(line.contains("resync: 2 VMs, ") && line.contains("1 recorded not running"), "\(line)")
        let after = try dumps(sandbox)
        #expect(!after.description.contains("i-2-2-"), "\(after)")
        #expect(!after.description.contains("10.77.0.12"))
        #expect(FileManager.default.fileExists(atPath: "\(sandbox.host.stateDirectory)/i-2-2-VM.json"))
        #expect(try sandbox.delivered(Probe(.tcp, to: sandbox.vm(1).ipv4, port: 22), from: sandbox.outside))
    }

    @Test func aCorruptStateFileIsReportedAndItsVMLeftAlone() throws {
        let sandbox = try Sandbox("corrupt", layout: .classic, rules: Self.rules)
        let before = try dumps(sandbox)
        try "{ not json".write(toFile: "\(sandbox.host.stateDirectory)/i-2-2-VM.json", atomically: true, encoding: .utf8)
        _ = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace, TestNetfilter.current.iptables, "-F", "i-2-1-VM"],
                                operation: "iptables")
        let line = try sandbox.host.resync()
        #expect(line.contains("resync: 2 VMs, ") && line.contains("1 running unrecorded left alone") && line.contains("1 problems"), "\(line)")
        let after = try dumps(sandbox)
        #expect(after == before, "the other VMs repaired, the unreadable one's rules kept: \(after.difference(from: before))")
    }
}

/// `security-groups status` against the same sandbox.
@Suite(.serialized) struct StatusDataPlaneTests {
    struct Status: Decodable {
        struct VM: Decodable { var name: String; var running: Bool; var layout: String?; var ipv4: String; var ipv6: String; var rules: Int?; var inSync: Bool? }
        var layout: String
        var vms: [VM]
        var tables: [String: Int]
        var sets: Int
        var conntrackEntries: Int?
        var hostInSync: Bool
        var pendingChanges: Int
    }

    private func readStatus(_ sandbox: Sandbox) throws -> Status {
        try JSONDecoder().decode(Status.self, from: Data(try sandbox.host.agent("status", ["--json"]).utf8))
    }

    @Test func statusShowsTrackingDriftAndTotals() throws {
        let sandbox = try Sandbox("status", layout: .notrack, rules: ResyncDataPlaneTests.rules)
        var status = try readStatus(sandbox)
        #expect(status.layout == "notrack" && status.pendingChanges == 0 && status.hostInSync)
        #expect(status.vms.map(\.name) == ["i-2-1-VM", "i-2-2-VM", "i-2-3-VM"])
        #expect(status.vms.map(\.ipv4) == ["untracked", "tracked", "tracked"])
        #expect(status.vms.map(\.ipv6) == ["untracked", "tracked", "tracked"])
        #expect(status.vms.map(\.rules) == [1, 1, 2] && status.vms.allSatisfy { $0.inSync == true && $0.layout == "notrack" })
        #expect((status.tables["iptables filter"] ?? 0) > 30 && status.sets == 13 && status.conntrackEntries != nil)

        _ = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace, TestNetfilter.current.iptables, "-F", "i-2-2-VM"],
                                operation: "iptables")
        status = try readStatus(sandbox)
        #expect(status.vms.map(\.inSync) == [true, false, true] && status.hostInSync && status.pendingChanges > 0)
        try sandbox.host.resync()
        #expect(try readStatus(sandbox).pendingChanges == 0)
    }

    /// In the native layout `status` checks each VM as verify_network_rules
    /// does, in our tables: a VM chain with a rule missing is out of sync
    /// (its default chain: the chains it jumps to are shared by content).
    @Test func statusReadsOurTablesInTheNativeLayout() throws {
        let sandbox = try Sandbox("natstatus", layout: .native, rules: ResyncDataPlaneTests.rules)
        var status = try readStatus(sandbox)
        #expect(status.layout == "native" && status.pendingChanges == 0 && status.hostInSync)
        #expect(status.vms.map(\.ipv4) == ["untracked", "tracked", "tracked"] && status.vms.map(\.ipv6) == ["untracked", "tracked", "tracked"])
        #expect(status.vms.allSatisfy { $0.inSync == true && $0.layout == "native" })
        _ = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace, "/usr/sbin/nft", "flush", "chain", "ip",
                                                 NativeRuleset.tableName, "i-2-2-def"], operation: "nft")
        status = try readStatus(sandbox)
        #expect(status.vms.map(\.inSync) == [true, false, true] && status.hostInSync && status.pendingChanges == 1)
        try sandbox.host.resync()
        #expect(try readStatus(sandbox).pendingChanges == 0)
    }
}
