import Foundation
import SecurityGroupsCore
import TestSupport

/// The reference scenarios' host files (in the core tests' fixtures) and
/// helpers to apply them inside a namespace with the built binary.
enum GoldenHosts {
    static let root = BinaryRunner.packageRoot.appendingPathComponent("Tests/SecurityGroupsCoreTests/Fixtures/golden")

    static var scenarios: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root.path))?.filter { !$0.hasPrefix(".") }.sorted() ?? []
    }

    static func path(_ scenario: String) -> String {
        root.appendingPathComponent(scenario).appendingPathComponent("host.json").path
    }

    static func rendered(_ scenario: String, _ layout: Layout) throws -> KernelDumps {
        let host = try HostFile.decode(Data(contentsOf: URL(fileURLWithPath: path(scenario))))
        let text = RulesetText(Renderer.render(host, layout: layout))
        return KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
    }
}

extension NetworkNamespace {
    /// A lock file of the test's own, so tests never wait on the host's.
    static let lockEnvironment = ["XTABLES_LOCKFILE": FileManager.default.temporaryDirectory.appendingPathComponent("sgtest-xtables.lock").path]

    /// Runs `security-groups` inside the namespace.
    func securityGroups(_ arguments: [String]) throws -> Tool.Result {
        try exec(BinaryRunner.binary.path, arguments, environment: Self.lockEnvironment)
    }

    /// `apply` of a golden scenario; fails the test on a non-zero exit.
    @discardableResult
    func apply(_ scenario: String, _ layout: Layout, extra: [String] = []) throws -> String {
        let result = try securityGroups(["apply", "--host", GoldenHosts.path(scenario), "--layout", layout.rawValue] + extra)
        guard result.status == 0 else { throw ToolError("apply \(scenario) \(layout): \(result.stderr)") }
        return result.stdout
    }
}
