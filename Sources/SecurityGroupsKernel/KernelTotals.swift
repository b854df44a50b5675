public import SecurityGroupsCore
import Foundation

/// Host-wide counts for `status`: rules per table, sets, conntrack entries.
public enum KernelTotals {
    /// Rules in every chain of each table, e.g. `("iptables filter", 1234)`.
    public static func ruleCounts() throws(NetfilterError) -> [(table: String, rules: Int)] {
        var counts: [(table: String, rules: Int)] = []
        for family in AddressFamily.allCases {
            for name in IPTable.Name.allCases {
                let handle = try IPTablesHandle(family: family, table: name)
                counts.append((handle.objectName, handle.ruleCount()))
            }
        }
        return counts
    }

    /// Every set, with its members.
    public static func sets() throws(NetfilterError) -> [KernelSet] {
        try IPSetBackend.save()
    }

    /// The members of some sets (missing sets have none).
    public static func sets(named names: [String]) throws(NetfilterError) -> [KernelSet] {
        try IPSetBackend.save(names: names)
    }

    /// Entries in this namespace's conntrack table; nil without conntrack.
    public static func conntrackEntries() -> Int? {
        (try? String(contentsOfFile: "/proc/sys/net/netfilter/nf_conntrack_count", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
