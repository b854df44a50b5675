import Foundation

/// The netfilter the kernel suites program and inspect: legacy x_tables
/// (the default) or nf_tables as iptables-nft keeps it, chosen for a whole
/// run by `SG_TEST_NETFILTER=legacy|nftables` (scripts/test.sh runs the
/// suites once with each). The agent is configured with the same
/// `netfilter` setting, and the tests read and change the kernel through
/// the matching iptables tools.
public enum TestNetfilter: String, CaseIterable, Sendable, CustomStringConvertible {
    case legacy
    case nftables

    /// This run's choice.
    public static let current: TestNetfilter = {
        guard let value = getenv("SG_TEST_NETFILTER").map({ String(cString: $0) }), !value.isEmpty else { return .legacy }
        guard let choice = TestNetfilter(rawValue: value) else { fatalError("SG_TEST_NETFILTER=\(value): must be legacy or nftables") }
        return choice
    }()

    public var description: String { self == .legacy ? "legacy x_tables" : "nf_tables" }

    /// The agent's `netfilter` setting for this run.
    public var setting: String { rawValue }

    private var variant: String { self == .legacy ? "legacy" : "nft" }

    /// `/usr/sbin/iptables-legacy` or `/usr/sbin/iptables-nft`, and so on.
    public var iptables: String { "/usr/sbin/iptables-\(variant)" }
    public var ip6tables: String { "/usr/sbin/ip6tables-\(variant)" }
    public var iptablesSave: String { "/usr/sbin/iptables-\(variant)-save" }
    public var ip6tablesSave: String { "/usr/sbin/ip6tables-\(variant)-save" }
    public var iptablesRestore: String { "/usr/sbin/iptables-\(variant)-restore" }
    public var ip6tablesRestore: String { "/usr/sbin/ip6tables-\(variant)-restore" }

    /// The other one: where nothing of ours may appear.
    public var other: TestNetfilter { self == .legacy ? .nftables : .legacy }

    /// The tool of `family` ("iptables" or "ip6tables") in this world.
    public func tool(_ name: String) -> String { "/usr/sbin/\(name)-\(variant)" }
}
