import Foundation
public import SecurityGroupsCore

/// The host this process runs on: the iptables tables in legacy x_tables
/// through libiptc or in nf_tables as iptables-nft keeps them (the
/// `netfilter` setting, decided per host at first use), ipset through
/// libipset, ebtables through the ebtables-nft tools, the bridges from
/// sysfs, and libvirt at `libvirtURI`, connected when first asked (one
/// connection for every command the process carries out).
public final class SystemHost: HostBackend {
    public let libvirtURI: String
    public let netfilterSetting: NetfilterSetting
    private let sysfs: String
    private var libvirt: LibvirtClient?
    /// libvirt being loaded and connected on a thread of its own (`prepareLibvirt`).
    private var connecting: BackgroundWork<LibvirtClient, NetfilterError>?
    private var decided: Netfilter?
    /// The host's netfilter as the decision found it (and our `native`
    /// tables as we since left them).
    private var world: HostWorld?

    public init(libvirtURI: String, netfilter: NetfilterSetting = .auto, sysfs: String = "/sys/class/net") {
        self.libvirtURI = libvirtURI
        self.netfilterSetting = netfilter
        self.sysfs = sysfs
    }

    /// The netfilter this host's iptables tables are read and written in,
    /// decided once (`HostWorld.decide`); throws the refusal when none may be.
    public func netfilter(allowNFTables: Bool = false) throws(NetfilterError) -> Netfilter {
        if let decided { return decided }
        let world = try HostWorld.current(netfilterSetting, allowNFTables: allowNFTables)
        switch world.decide(netfilterSetting, allowNFTables: allowNFTables) {
        case .use(let netfilter):
            decided = netfilter
            self.world = world
            return netfilter
        case .refuse(let reason):
            throw NetfilterError(operation: "host check", object: "netfilter", reason: reason)
        }
    }

    private func tables() throws(NetfilterError) -> any IPTablesStore {
        switch try netfilter() {
        case .legacy: XtablesStore()
        case .nftables: IPTablesNFTStore()
        }
    }

    public func checkHost(allowNFTables: Bool, layout: Layout, replacesHost: Bool) throws(NetfilterError) {
        _ = try netfilter(allowNFTables: allowNFTables)
        if let reason = world?.layoutRefusal(layout, replacesHost: replacesHost) {
            throw NetfilterError(operation: "host check", object: "netfilter", reason: reason)
        }
    }

    public func defaultLayout() throws(NetfilterError) -> Layout {
        guard try netfilter() == .nftables, let world, world.nfTablesChains.isEmpty else { return .notrack }
        return .native
    }

    public func replaceNativeLayout(with ruleset: consuming NativeRuleset?) throws(NetfilterError) {
        _ = try netfilter()
        let replaces = ruleset != nil
        guard replaces || world?.nativeTables.isEmpty == false else { return }
        try NativeTables.replace(with: consume ruleset)
        world?.nativeTables = replaces ? NativeRuleset.tableNames : []
    }

    public func native(_ query: NativeQuery) throws(NetfilterError) -> NativeAnswer { try NativeTables.answer(query) }

    public func nativePorts(entering chains: Set<String>) throws(NetfilterError) -> Set<String> {
        try NativeTables.ports(entering: chains)
    }

    public func nativeChainNames(_ family: NativeTable.Family) throws(NetfilterError) -> [String] {
        try NFTablesChains.list(family: NativeMessages.family(family)).filter { $0.table == NativeRuleset.tableName }.map(\.name)
    }

    public func table(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState {
        try tables().read(name, family, scope: scope)
    }

    public func sets(named names: [String]?) throws(NetfilterError) -> [KernelSet] {
        try IPSetBackend.save(names: names)
    }

    public func ebtablesChain(_ chain: String) throws(NetfilterError) -> [String]? {
        try EbtablesBackend.list(chain)
    }

    public var ebtablesInstalled: Bool { (try? EbtablesBackend.tool("ebtables", verb: "restore")) != nil }

    public func ruleCounts() throws(NetfilterError) -> [(table: String, rules: Int)] {
        let tables = try tables()
        var counts: [(table: String, rules: Int)] = []
        for family in AddressFamily.allCases {
            for name in IPTable.Name.allCases {
                counts.append((family.tableObject(name), try tables.ruleCount(name, family)))
            }
        }
        return counts
    }

    /// Everything of ours netfilter holds (`show`).
    public func snapshot() throws(NetfilterError) -> KernelSnapshot {
        try KernelSnapshot.read(tables: tables())
    }

    public var conntrackEntries: Int? {
        (try? String(contentsOfFile: "/proc/sys/net/netfilter/nf_conntrack_count", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public func apply(_ options: ApplyOptions, render: () throws -> Ruleset) throws(ApplyError) -> ApplyReport {
        let tables: any IPTablesStore
        var rendered: Ruleset?
        do {
            tables = try self.tables()
            rendered = try render()
        } catch let error as NetfilterError {
            throw ApplyError(failure: error)
        } catch {
            throw ApplyError(failure: NetfilterError(operation: "render", object: "ruleset", reason: "\(error)"))
        }
        if let ruleset = rendered, ruleset.layout == .native {
            rendered = nil
            return try applyNative(consume ruleset, options)
        }
        // Handed over, not kept: the applier lets go of each family's rules
        // once they are committed (a whole host's resync).
        return try Applier(tables: tables, recordsChanges: options.recordsChanges).apply(dryRun: options.dryRun, ebtables: options.ebtables) {
            defer { rendered = nil }
            return rendered!
        }
    }

    /// Our native tables: the whole host replaced, or some VMs' share changed.
    /// (`ruleset` is consumed: a whole host's is let go of once translated.)
    private func applyNative(_ ruleset: consuming Ruleset, _ options: ApplyOptions) throws(ApplyError) -> ApplyReport {
        var report = ApplyReport()
        var clock = PhaseClock()
        do {
            if case .vms = ruleset.scope {
                let result = try NativeVMSync.sync(ruleset, dryRun: options.dryRun)
                report.changeCount = result.messages.count
                if options.recordsChanges {
                    report.changes = result.messages.map { NetfilterChange(table: "nft", object: NativeRuleset.tableName, line: $0.object) }
                }
                report.timings += result.timings
                report.forgetStaleEntries(result.untracked, dryRun: options.dryRun)
            } else {
                let native = try NativeRuleset(consume ruleset)
                report.changeCount = native.objectCount
                if !options.dryRun { try replaceNativeLayout(with: consume native) }
            }
        } catch let error as NetfilterError {
            throw ApplyError(failure: error)
        } catch let error as InputError {
            throw ApplyError(failure: NetfilterError(operation: "native layout", object: error.field, reason: "\(error.value): \(error.reason)"))
        } catch {
            throw ApplyError(failure: NetfilterError(operation: "native layout", object: NativeRuleset.tableName, reason: "\(error)"))
        }
        if !options.dryRun {
            report.committedTables = NativeRuleset.tableNames.map { "nft " + $0 }
            world?.nativeTables = NativeRuleset.tableNames
        }
        report.timings.append(("native layout", clock.lap()))
        return report
    }

    public func uplink(of bridge: String) -> String? {
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: "\(sysfs)/\(bridge)/brif")) ?? []
        let candidates = ports.filter { !$0.hasPrefix("vnet") }.compactMap { port -> (Int, String)? in
            guard let text = try? String(contentsOfFile: "\(sysfs)/\(port)/ifindex", encoding: .utf8),
                  let index = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            return (index, port)
        }
        return candidates.min { $0.0 < $1.0 }?.1
    }

    /// Loads libvirt (some 50 libraries, about 10 ms) and connects on a
    /// thread of its own, while the host check and the kernel's reads go on.
    public func prepareLibvirt() {
        guard libvirt == nil, connecting == nil else { return }
        let uri = libvirtURI
        connecting = BackgroundWork { () throws(NetfilterError) in try LibvirtClient(uri: uri) }
    }

    public func settleLibvirt() { _ = try? connecting?.finish() }

    public func domains() throws(NetfilterError) -> [DomainInfo] { try connection().domains() }

    public func domain(named name: String) throws(NetfilterError) -> DomainInfo? { try connection().domain(named: name) }

    public func interfaces(of domain: String) throws(NetfilterError) -> [DomainInterface]? {
        try connection().interfaces(of: domain)
    }

    private func connection() throws(NetfilterError) -> LibvirtClient {
        if let libvirt { return libvirt }
        let client: LibvirtClient
        if let connecting { client = try connecting.finish() } else { client = try LibvirtClient(uri: libvirtURI) }
        libvirt = client
        return client
    }
}
