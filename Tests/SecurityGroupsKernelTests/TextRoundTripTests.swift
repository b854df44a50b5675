import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// Our text forms must be exactly what the kernel tools print: load each
/// rendered ruleset with the restore tools into a fresh namespace, save it
/// back, and compare. This checks the `notrack` layout, which has no
/// reference dump, against the kernel's own answer.
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

    @Test(arguments: hosts, Layout.allCases)
    func kernelPrintsWhatWeRender(host name: String, layout: Layout) throws {
        let text = RulesetText(Renderer.render(try Self.host(name), layout: layout))
        guard let namespace = try NetworkNamespace.make("text") else {
            try #require(Bool(false), "not root: cannot create a network namespace")
            return
        }
        try namespace.run("/usr/sbin/ipset", ["restore"], input: text.ipset)
        try namespace.run("/usr/sbin/iptables-legacy-restore", input: text.iptables)
        try namespace.run("/usr/sbin/ip6tables-legacy-restore", input: text.ip6tables)
        if !text.ebtables.isEmpty {
            try namespace.run("/usr/sbin/ebtables-nft-restore", input: text.ebtables)
        }
        let expected = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
        #expect(try KernelDumps.read(namespace) == expected)
    }
}
