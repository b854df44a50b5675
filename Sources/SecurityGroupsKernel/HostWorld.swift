import Foundation
import SecurityGroupsCore

/// Which netfilter holds CloudStack's rules on this host, and whether we
/// can program the world we write to (legacy x_tables) without leaving a
/// second rule set beside them: checked before any change, by every command.
public struct HostWorld: Equatable, Sendable {
    /// CloudStack's chains nf_tables holds in its iptables families (`ip`,
    /// `ip6`), written by the script through iptables-nft: `ip filter BF-cloudbr0`.
    public var nfTablesChains: [String]
    /// Why legacy x_tables cannot be used, per family; empty when it can.
    public var legacyUnavailable: [String]
    /// Where `/usr/sbin/iptables` points (e.g. `xtables-nft-multi`), for the message.
    public var iptablesTool: String?

    public init(nfTablesChains: [String], legacyUnavailable: [String], iptablesTool: String?) {
        self.nfTablesChains = nfTablesChains
        self.legacyUnavailable = legacyUnavailable
        self.iptablesTool = iptablesTool
    }

    /// This host's world, read from the kernel (two netlink dumps, of the
    /// `ip` and `ip6` families, and two socket options): fails closed when nf_tables cannot be listed.
    /// Legacy x_tables is only asked when that could still matter: asking
    /// instantiates an empty filter table, which iptables-nft then reports.
    public static func current(allowNFTables: Bool = false) throws(NetfilterError) -> HostWorld {
        let listed: [NFTablesChains.Chain]
        do {
            listed = try NFTablesChains.list(family: NFTablesChains.ipv4) + NFTablesChains.list(family: NFTablesChains.ipv6)
        } catch {
            throw NetfilterError(operation: "host check", object: "netfilter",
                                 reason: "cannot tell whether nf_tables holds CloudStack's rules (\(error)); nothing was changed",
                                 errno: error.errno)
        }
        let chains = listed.filter { ["ip", "ip6"].contains($0.family) && Ownership.ownsChain($0.name) }
        let legacy = !chains.isEmpty && !allowNFTables ? [] : AddressFamily.allCases.compactMap { family in
            LegacyXtables.unavailable(family).map { "\(family == .ipv4 ? "ip_tables" : "ip6_tables"): \($0)" }
        }
        let tool = FileManager.default.fileExists(atPath: "/usr/sbin/iptables")
            ? URL(fileURLWithPath: "/usr/sbin/iptables").resolvingSymlinksInPath().lastPathComponent : nil
        return HostWorld(nfTablesChains: chains.map { "\($0.family) \($0.table) \($0.name)" }, legacyUnavailable: legacy, iptablesTool: tool)
    }

    /// Why this host must not be programmed, in one line; nil when it may.
    /// `allowNFTables` accepts CloudStack chains in nf_tables (`apply --allow-nft-host`).
    public func refusal(allowNFTables: Bool = false) -> String? {
        if !nfTablesChains.isEmpty, !allowNFTables {
            let examples = nfTablesChains.prefix(3).joined(separator: ", ")
            return "CloudStack's rules on this host are in nf_tables (\(nfTablesChains.count) chain\(nfTablesChains.count == 1 ? "" : "s"), e.g. \(examples)), "
                + "written through \(iptablesTool ?? "iptables-nft"); programming legacy x_tables beside them would leave two rule sets. "
                + "Nothing was changed: keep security_group.py on this host, or remove those rules first"
        }
        if !legacyUnavailable.isEmpty {
            return "this kernel has no legacy x_tables (\(legacyUnavailable.joined(separator: ", "))), the only netfilter "
                + "this version programs; nothing was changed"
        }
        return nil
    }

    /// Throws the refusal, if any, as a `host check` error.
    public static func verify(allowNFTables: Bool = false) throws(NetfilterError) {
        if let reason = try current(allowNFTables: allowNFTables).refusal(allowNFTables: allowNFTables) {
            throw NetfilterError(operation: "host check", object: "netfilter", reason: reason)
        }
    }
}
