import Foundation
import SecurityGroupsCore
import TestSupport

/// The reference scenarios' host files (in the core tests' fixtures) and
/// helpers to apply them inside a namespace with the built binary.
enum GoldenHosts {
    static let root = BinaryRunner.packageRoot.appendingPathComponent("Tests/SecurityGroupsCoreTests/Fixtures/golden")

    /// The golden scenarios (counted in ClassicGoldenTests); a missing directory stops the run.
    static let scenarios: [String] = try! FileManager.default.contentsOfDirectory(atPath: root.path).filter { !$0.hasPrefix(".") }.sorted()

    static func path(_ scenario: String) -> String {
        root.appendingPathComponent(scenario).appendingPathComponent("host.json").path
    }

    /// What the kernel must hold for a scenario, from an oracle that is not
    /// our renderer: the script's own dumps for `classic`, and for `notrack`
    /// those dumps changed by the documented differences (`NotrackOracle`).
    static func expected(_ scenario: String, _ layout: Layout) throws -> KernelDumps {
        let script = try scriptDumps(scenario)
        return layout == .classic ? script : NotrackOracle.expected(fromClassic: script)
    }
}

extension GoldenHosts {
    /// The script's own dumps of a scenario, as `KernelDumps`.
    static func scriptDumps(_ scenario: String) throws -> KernelDumps {
        func file(_ name: String) throws -> String {
            try String(contentsOf: root.appendingPathComponent(scenario).appendingPathComponent(name), encoding: .utf8)
        }
        return KernelDumps(iptables: try file("iptables.txt"), ip6tables: try file("ip6tables.txt"),
                           ipset: try file("ipset.txt"), ebtables: try file("ebtables.txt"))
    }

    /// Loads the script's dumps of a scenario into a namespace with the
    /// restore tools: a host whose rules the script wrote.
    static func loadScriptState(_ scenario: String, into namespace: NetworkNamespace, through netfilter: TestNetfilter = .current) throws {
        try loadScriptState(from: root.appendingPathComponent(scenario), into: namespace, through: netfilter)
    }

    /// Loads the four dumps in `directory`. ebtables chains over 28
    /// characters, which ebtables-restore refuses but the script makes with
    /// `ebtables -N`, are made the script's way.
    static func loadScriptState(from directory: URL, into namespace: NetworkNamespace, through netfilter: TestNetfilter = .current) throws {
        func file(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        try namespace.run("/usr/sbin/ipset", ["restore"], input: try file("ipset.txt").split(separator: "\n")
            .sorted { $0.hasPrefix("create") && !$1.hasPrefix("create") }.joined(separator: "\n") + "\n")
        try namespace.run(netfilter.iptablesRestore, input: try file("iptables.txt"))
        try namespace.run(netfilter.ip6tablesRestore, input: try file("ip6tables.txt"))
        let lines = try file("ebtables.txt").split(separator: "\n").map(String.init)
        let oversized = { (line: String) in line.split(separator: " ").prefix(2).contains { $0.count > 28 && !$0.hasPrefix("-") } }
        let batch = lines.filter { !oversized($0) }
        if !batch.isEmpty {
            try namespace.run("/usr/sbin/ebtables-nft-restore", input: batch.joined(separator: "\n") + "\n")
        }
        for line in lines.filter(oversized) {
            let words = line.split(separator: " ").map(String.init)
            let arguments = line.hasPrefix(":") ? ["-N", String(words[0].dropFirst())] : words
            try namespace.run("/usr/sbin/ebtables-nft", ["-t", "nat"] + arguments)
        }
    }

    /// A host file with some of a scenario's VMs, written to a temporary path.
    static func hostFile(from scenario: String, keeping names: [String]) throws -> String {
        var host = try HostFile.decode(Data(contentsOf: URL(fileURLWithPath: path(scenario))))
        host.vms = host.vms.filter { names.contains($0.name.rawValue) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sghost-\(UUID().uuidString).json")
        try HostFile.encode(host).write(to: file)
        return file.path
    }
}

extension NetworkNamespace {
    /// A lock file of the test's own, so tests never wait on the host's.
    static let lockEnvironment = ["XTABLES_LOCKFILE": FileManager.default.temporaryDirectory.appendingPathComponent("sgtest-xtables.lock").path]

    /// A configuration naming only this run's netfilter (`TestNetfilter`).
    static let netfilterConfiguration: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sgtest-\(getpid())-netfilter.conf").path
        try! "netfilter = \(TestNetfilter.current.setting)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    /// Runs `security-groups` inside the namespace, programming this run's netfilter.
    func securityGroups(_ arguments: [String]) throws -> Tool.Result {
        try exec(BinaryRunner.binary.path, arguments,
                 environment: Self.lockEnvironment.merging(["SECURITY_GROUPS_CONFIG": Self.netfilterConfiguration]) { first, _ in first })
    }

    /// `apply` of a golden scenario; fails the test on a non-zero exit.
    @discardableResult
    func apply(_ scenario: String, _ layout: Layout, extra: [String] = []) throws -> String {
        let result = try securityGroups(["apply", "--host", GoldenHosts.path(scenario), "--layout", layout.rawValue] + extra)
        guard result.status == 0 else { throw ToolError("apply \(scenario) \(layout): \(result.stderr)") }
        return result.stdout
    }
}
