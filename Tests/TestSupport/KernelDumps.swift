import Foundation

/// What netfilter holds in a namespace, normalized as the reference dumps
/// are, so it can be compared with our text forms.
public struct KernelDumps: Equatable, CustomStringConvertible {
    /// iptables-save blocks by table; comment lines dropped, counters zeroed.
    public var iptables: [String: String]
    public var ip6tables: [String: String]
    /// `ipset save` lines without `initval`, sorted.
    public var ipset: [String]
    /// ebtables-save without comments; an empty `nat` table counts as none.
    public var ebtables: String

    public init(iptables: String, ip6tables: String, ipset: String, ebtables: String) {
        self.iptables = Self.tables(iptables)
        self.ip6tables = Self.tables(ip6tables)
        self.ipset = ipset.split(separator: "\n").map { line in
            guard let range = line.range(of: " initval ") else { return String(line) }
            return String(line[..<range.lowerBound])
        }.sorted()
        let cleaned = ebtables.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0 + "\n" }.joined()
        self.ebtables = cleaned == "*nat\n:PREROUTING ACCEPT\n:OUTPUT ACCEPT\n:POSTROUTING ACCEPT\n" ? "" : cleaned
    }

    /// Reads the four dumps inside a namespace, the iptables ones from
    /// `netfilter` (this run's by default).
    public static func read(_ namespace: NetworkNamespace, netfilter: TestNetfilter = .current) throws -> KernelDumps {
        KernelDumps(
            iptables: try namespace.run(netfilter.iptablesSave),
            ip6tables: try namespace.run(netfilter.ip6tablesSave),
            ipset: try namespace.run("/usr/sbin/ipset", ["save"]),
            ebtables: try namespace.run("/usr/sbin/ebtables-nft-save"))
    }

    /// Reads the four dumps inside the namespace of that name.
    public static func read(namespaceNamed name: String) throws -> KernelDumps {
        func run(_ program: String, _ arguments: [String] = []) throws -> String {
            let result = try Tool.run("/usr/sbin/ip", ["netns", "exec", name, program] + arguments)
            guard result.status == 0 else { throw ToolError("\(program) in \(name): \(result.stderr)") }
            return result.stdout
        }
        return KernelDumps(iptables: try run(TestNetfilter.current.iptablesSave), ip6tables: try run(TestNetfilter.current.ip6tablesSave),
                           ipset: try run("/usr/sbin/ipset", ["save"]), ebtables: try run("/usr/sbin/ebtables-nft-save"))
    }

    /// Each table's block by name: iptables-save lists tables in the order
    /// the kernel loaded them, which says nothing about the rules.
    static func tables(_ text: String) -> [String: String] {
        var tables: [String: String] = [:]
        var current = ""
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if line.hasPrefix("*") { current = String(line.dropFirst()) }
            var kept = String(line)
            if line.hasPrefix(":"), let open = line.lastIndex(of: "[") {
                kept = String(line[..<open]) + "[0:0]"
            }
            tables[current, default: ""] += kept + "\n"
        }
        return tables
    }

    public var description: String {
        let v4 = iptables.keys.sorted().map { iptables[$0]! }.joined()
        let v6 = ip6tables.keys.sorted().map { ip6tables[$0]! }.joined()
        return "# iptables\n\(v4)# ip6tables\n\(v6)# ipset\n\(ipset.joined(separator: "\n"))\n# ebtables\n\(ebtables)"
    }
}

extension KernelDumps {
    /// The first lines where `self` and `expected` differ, for a readable test failure.
    public func difference(from expected: KernelDumps, limit: Int = 8) -> String {
        let got = description.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.description.split(separator: "\n", omittingEmptySubsequences: false)
        var lines: [String] = []
        for index in 0..<max(got.count, want.count) where lines.count < limit {
            let a = index < got.count ? String(got[index]) : "<none>"
            let b = index < want.count ? String(want[index]) : "<none>"
            if a != b { lines.append("line \(index + 1): got '\(a)', expected '\(b)'") }
        }
        return lines.joined(separator: "\n")
    }
}
