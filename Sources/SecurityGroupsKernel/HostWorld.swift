import Foundation
public import SecurityGroupsCore

/// Which netfilter holds CloudStack's rules on this host, which one its
/// `iptables` command writes, and so which one we program: decided before
/// any change, by every command, so one VM never has two rule sets.
public struct HostWorld: Equatable, Sendable {
    /// CloudStack's chains nf_tables holds in its iptables families (`ip`,
    /// `ip6`), written through iptables-nft (by the script or by us):
    /// `ip filter BF-cloudbr0`.
    public var nfTablesChains: [String]
    /// CloudStack's chains in legacy x_tables filter tables that exist:
    /// `iptables filter BF-cloudbr0`.
    public var legacyChains: [String]
    /// Why legacy x_tables cannot be used, per family; empty when it can or
    /// when that was not asked (it did not matter).
    public var legacyUnavailable: [String]
    /// Where `/usr/sbin/iptables` points (e.g. `xtables-nft-multi`).
    public var iptablesTool: String?
    /// Our own tables of the `native` layout: `ip cloudstack_sg`.
    public var nativeTables: [String]

    public init(nfTablesChains: [String], legacyChains: [String] = [], legacyUnavailable: [String], iptablesTool: String?,
                nativeTables: [String] = []) {
        self.nfTablesChains = nfTablesChains
        self.legacyChains = legacyChains
        self.legacyUnavailable = legacyUnavailable
        self.iptablesTool = iptablesTool
        self.nativeTables = nativeTables
    }

    /// What the host's `iptables` command writes, by its name.
    var iptablesWritesNFTables: Bool { iptablesTool?.contains("nft") ?? false }

    /// This host's world as far as `setting` (and `allowNFTables`, as for `decide`) needs it, read from the kernel:
    /// netlink dumps of nf_tables' `ip` and `ip6` chains (beside our native
    /// tables, of the other tables' rules instead: ours have thousands), the legacy
    /// filter tables that already exist (`/proc/net/ip*_tables_names`), and,
    /// only when legacy x_tables could be chosen, whether it answers (asking
    /// makes an empty filter table, which iptables-nft then warns about).
    /// Fails closed when nf_tables cannot be listed.
    public static func current(_ setting: NetfilterSetting = .auto, allowNFTables: Bool = false) throws(NetfilterError) -> HostWorld {
        var listed: [NFTablesChains.Chain] = []
        do {
            for family in [NFTablesChains.ipv4, NFTablesChains.ipv6] {
                // Beside our native tables (thousands of chains on a large
                // host), only the other tables' chains are listed, by their rules.
                if try NFTablesChains.tables(family: family).contains(NativeRuleset.tableName) {
                    listed += try NFTablesChains.chainsWithRules(family: family, excluding: NativeRuleset.tableName)
                    listed.append(NFTablesChains.Chain(family: family == NFTablesChains.ipv4 ? "ip" : "ip6", table: NativeRuleset.tableName, name: ""))
                } else {
                    listed += try NFTablesChains.list(family: family)
                }
            }
        } catch {
            throw NetfilterError(operation: "host check", object: "netfilter",
                                 reason: "cannot tell whether nf_tables holds CloudStack's rules (\(error)); nothing was changed",
                                 errno: error.errno)
        }
        let native = listed.filter { $0.table == NativeRuleset.tableName }
        let nfTables = listed.filter { ["ip", "ip6"].contains($0.family) && $0.table != NativeRuleset.tableName && Ownership.ownsChain($0.name) }
        var legacy: [String] = []
        for family in AddressFamily.allCases where LegacyXtables.tableExists(family, "filter") {
            let table = try XtablesStore().read(.filter, family, scope: .vms([], vifs: []))
            legacy += (Array(table.chains.keys) + Array(table.otherChains)).filter(Ownership.ownsChain).sorted()
                .map { "\(family.iptablesTool) filter \($0)" }
        }
        let tool = FileManager.default.fileExists(atPath: "/usr/sbin/iptables")
            ? URL(fileURLWithPath: "/usr/sbin/iptables").resolvingSymlinksInPath().lastPathComponent : nil
        var world = HostWorld(nfTablesChains: nfTables.map { "\($0.family) \($0.table) \($0.name)" }, legacyChains: legacy,
                              legacyUnavailable: [], iptablesTool: tool,
                              nativeTables: Set(native.map { "\($0.family) \($0.table)" }).sorted())
        // Only a decision for legacy x_tables depends on whether it answers.
        if world.decide(setting, allowNFTables: allowNFTables) == .use(.legacy) {
            world.legacyUnavailable = AddressFamily.allCases.compactMap { family in
                LegacyXtables.unavailable(family).map { "\(family == .ipv4 ? "ip_tables" : "ip6_tables"): \($0)" }
            }
        }
        return world
    }

    /// The netfilter to program, or why none may be.
    public enum Decision: Equatable, Sendable {
        case use(Netfilter)
        case refuse(String)
    }

    /// The netfilter `setting` gives on this host. `auto` follows
    /// CloudStack's rules where they are, else the host's `iptables`
    /// command (nf_tables also when legacy x_tables is missing).
    /// `allowNFTables` lets a forced `legacy` write beside CloudStack chains
    /// in nf_tables (`apply --allow-nft-host`, for side-by-side tests).
    public func decide(_ setting: NetfilterSetting, allowNFTables: Bool = false) -> Decision {
        let nothingChanged = "Nothing was changed"
        switch setting {
        case .legacy:
            if !nfTablesChains.isEmpty, !allowNFTables {
                return .refuse("\(Self.rulesIn("nf_tables", nfTablesChains)), written through \(iptablesTool ?? "iptables-nft"); "
                    + "netfilter = legacy would leave a second rule set in legacy x_tables. \(nothingChanged): "
                    + "set netfilter = auto (or nftables), or remove those rules first")
            }
            if !legacyUnavailable.isEmpty {
                return .refuse("this kernel has no legacy x_tables (\(legacyUnavailable.joined(separator: ", "))), "
                    + "which netfilter = legacy programs; nothing was changed")
            }
            return .use(.legacy)
        case .nftables:
            if !legacyChains.isEmpty {
                return .refuse("\(Self.rulesIn("legacy x_tables", legacyChains)); netfilter = nftables would leave a second rule set "
                    + "in nf_tables. \(nothingChanged): set netfilter = auto (or legacy), or remove those rules first")
            }
            return .use(.nftables)
        case .auto:
            if !nfTablesChains.isEmpty, !legacyChains.isEmpty {
                return .refuse("\(Self.rulesIn("both nf_tables and legacy x_tables", nfTablesChains + legacyChains)): "
                    + "two rule sets already. \(nothingChanged): remove one of them, or choose with netfilter = legacy or nftables")
            }
            if !nfTablesChains.isEmpty { return .use(.nftables) }
            if !legacyChains.isEmpty { return .use(.legacy) }
            return iptablesWritesNFTables || !legacyUnavailable.isEmpty ? .use(.nftables) : .use(.legacy)
        }
    }

    /// Why a run in `layout` may not write here, if it may not (never two
    /// rule sets for one host). Our `native` layout's tables in place: only
    /// a run that replaces them (`replacesHost`: a whole host's apply or
    /// resync) or writes them may. CloudStack's chains in the iptables
    /// tables: a run writing the native tables for some VMs may not.
    public func layoutRefusal(_ layout: Layout, replacesHost: Bool) -> String? {
        guard !replacesHost else { return nil }
        if layout == .native {
            let chains = nfTablesChains + legacyChains
            guard !chains.isEmpty else { return nil }
            return "\(Self.rulesIn("the iptables tables", chains)); the native layout's tables for some VMs would be a second "
                + "rule set. Nothing was changed: bring the whole host to the native layout first (security-groups resync, "
                + "or apply --layout native --host FILE)"
        }
        guard !nativeTables.isEmpty else { return nil }
        return "this host is programmed in the native layout (nf_tables tables \(nativeTables.joined(separator: ", "))); "
            + "rules in the iptables tables would be a second rule set. Nothing was changed: bring the whole host to one layout "
            + "first (security-groups resync, or apply --host FILE)"
    }

    private static func rulesIn(_ world: String, _ chains: [String]) -> String {
        "CloudStack's rules on this host are in \(world) (\(chains.count) chain\(chains.count == 1 ? "" : "s"), "
            + "e.g. \(chains.prefix(3).joined(separator: ", ")))"
    }
}
