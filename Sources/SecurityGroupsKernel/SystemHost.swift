import Foundation
public import SecurityGroupsCore

/// The host this process runs on: legacy x_tables through libiptc, ipset
/// through libipset, ebtables through the ebtables-nft tools, the bridges
/// from sysfs, and libvirt at `libvirtURI`, connected when first asked
/// (one connection for every command the process carries out).
public final class SystemHost: HostBackend {
    public let libvirtURI: String
    private let sysfs: String
    private var libvirt: LibvirtClient?

    public init(libvirtURI: String, sysfs: String = "/sys/class/net") {
        self.libvirtURI = libvirtURI
        self.sysfs = sysfs
    }

    public func checkHost(allowNFTables: Bool) throws(NetfilterError) {
        try HostWorld.verify(allowNFTables: allowNFTables)
    }

    public func table(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState {
        var codec = RuleCodec()
        return try IPTablesHandle(family: family, table: name).read(codec: &codec, scope: scope)
    }

    public func sets(named names: [String]?) throws(NetfilterError) -> [KernelSet] {
        try IPSetBackend.save(names: names)
    }

    public func ebtablesChain(_ chain: String) throws(NetfilterError) -> [String]? {
        try EbtablesBackend.list(chain)
    }

    public var ebtablesInstalled: Bool { (try? EbtablesBackend.tool("ebtables", verb: "restore")) != nil }

    public func ruleCounts() throws(NetfilterError) -> [(table: String, rules: Int)] {
        var counts: [(table: String, rules: Int)] = []
        for family in AddressFamily.allCases {
            for name in IPTable.Name.allCases {
                let handle = try IPTablesHandle(family: family, table: name)
                counts.append((handle.objectName, handle.ruleCount()))
            }
        }
        return counts
    }

    public var conntrackEntries: Int? {
        (try? String(contentsOfFile: "/proc/sys/net/netfilter/nf_conntrack_count", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public func apply(_ options: ApplyOptions, render: () throws -> Ruleset) throws(ApplyError) -> ApplyReport {
        try Applier(recordsChanges: options.recordsChanges).apply(dryRun: options.dryRun, ebtables: options.ebtables, render: render)
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

    public func domains() throws(NetfilterError) -> [DomainInfo] { try connection().domains() }

    public func domain(named name: String) throws(NetfilterError) -> DomainInfo? { try connection().domain(named: name) }

    public func interfaces(of domain: String) throws(NetfilterError) -> [DomainInterface]? {
        try connection().interfaces(of: domain)
    }

    private func connection() throws(NetfilterError) -> LibvirtClient {
        if let libvirt { return libvirt }
        let client = try LibvirtClient(uri: libvirtURI)
        libvirt = client
        return client
    }
}
