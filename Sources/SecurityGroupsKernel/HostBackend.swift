public import SecurityGroupsCore

/// Everything the agent asks of the host it programs, and the only way it
/// reaches it: netfilter read in a scope and brought to a ruleset in one
/// transaction, the bridges' ports, and libvirt's domains.
///
/// `SystemHost` is the real host (libiptc, libipset, ebtables, sysfs,
/// libvirt); a second netfilter (nf_tables) is a second implementation. The
/// agent's tests use an in-memory host that plans with the same planners.
public protocol HostBackend: AnyObject {
    // MARK: netfilter

    /// Throws when this host must not be programmed in `layout`: CloudStack's
    /// rules are in a netfilter this backend does not write (unless
    /// `allowNFTables`), the kernel lacks the one it does, or the run would
    /// leave two rule sets (`HostWorld.layoutRefusal`; `replacesHost`: a
    /// whole host's apply or resync).
    func checkHost(allowNFTables: Bool, layout: Layout, replacesHost: Bool) throws(NetfilterError)

    /// The layout for a configuration that sets none: `native` where we
    /// program nf_tables and its iptables tables hold no CloudStack chains
    /// (ours or the script's: those VMs are taken over in their layout,
    /// never beside it), else `notrack`.
    func defaultLayout() throws(NetfilterError) -> Layout

    /// Puts the `native` layout's tables in place of ours in one
    /// transaction, or removes them (nil; nothing when there are none).
    /// Consumed: a whole host's tables are let go of as they are written.
    func replaceNativeLayout(with ruleset: consuming NativeRuleset?) throws(NetfilterError)

    /// The chains of one of our native tables (`cleanup_rules`).
    func nativeChainNames(_ family: NativeTable.Family) throws(NetfilterError) -> [String]

    /// The ports our native bridge table sends into one of `chains` (a
    /// VM's first bridge-family chains): a VM's ports when nothing recorded
    /// them. Reads the whole map: only for VMs without a record.
    func nativePorts(entering chains: Set<String>) throws(NetfilterError) -> Set<String>

    /// Asks our native tables by name and by key (`verify_network_rules`, `status`).
    func native(_ query: NativeQuery) throws(NetfilterError) -> NativeAnswer

    /// One table as `scope` reads it: built-in chains and the scope's chains
    /// with their rules, the other chains only named.
    func table(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) throws(NetfilterError) -> KernelTableState

    /// The named sets that exist, with their members; every set when nil.
    func sets(named names: [String]?) throws(NetfilterError) -> [KernelSet]

    /// One ebtables `nat` chain's rules as ebtables-save prints them
    /// (without `-A CHAIN `); nil when there is no such chain.
    func ebtablesChain(_ chain: String) throws(NetfilterError) -> [String]?

    /// Whether the ebtables tools are installed (`can_bridge_firewall`).
    var ebtablesInstalled: Bool { get }

    /// Rules in every chain of each table, e.g. `("iptables filter", 1234)`.
    func ruleCounts() throws(NetfilterError) -> [(table: String, rules: Int)]

    /// Entries in the conntrack table; nil without conntrack.
    var conntrackEntries: Int? { get }

    /// Brings netfilter to the ruleset `render` returns, in the scope it was
    /// rendered for, one transaction per table (or, in a dry run, says what
    /// it would change).
    func apply(_ options: ApplyOptions, render: () throws -> Ruleset) throws(ApplyError) -> ApplyReport

    // MARK: bridges

    /// The bridge's port to the physical network: like the script, the
    /// first port (by interface index) whose name does not start with `vnet`.
    func uplink(of bridge: String) -> String?

    // MARK: libvirt

    /// Starts connecting to libvirt in the background, for a run that will
    /// ask it; `settleLibvirt` waits for that work (before the process ends).
    func prepareLibvirt()
    func settleLibvirt()

    /// Every domain, running or defined.
    func domains() throws(NetfilterError) -> [DomainInfo]

    /// One domain by name; nil when there is no such domain.
    func domain(named name: String) throws(NetfilterError) -> DomainInfo?

    /// The domain's interfaces in device order; nil when there is no such domain.
    func interfaces(of domain: String) throws(NetfilterError) -> [DomainInterface]?
}

/// How one apply runs.
public struct ApplyOptions: Sendable {
    /// Say what would change, and change nothing.
    public var dryRun: Bool
    /// Whether ebtables may need changes: false skips its read and batch, for
    /// a caller that knows nothing there changed (a rules update).
    public var ebtables: Bool
    /// Whether the report lists each change, or only counts them (a whole
    /// host's changes take tens of megabytes).
    public var recordsChanges: Bool

    public init(dryRun: Bool = false, ebtables: Bool = true, recordsChanges: Bool = true) {
        self.dryRun = dryRun
        self.ebtables = ebtables
        self.recordsChanges = recordsChanges
    }
}

extension HostBackend {
    /// Before an agent command: some VMs in `layout`.
    public func checkHost(layout: Layout) throws(NetfilterError) { try checkHost(allowNFTables: false, layout: layout, replacesHost: false) }

    /// VM chains in the IPv4 filter table (in `native`, our `ip` table), as
    /// `cleanup_rules` looks for them: `i-`, `r-`, `s-`, `v-` chains other
    /// than `-def` and `-eg` ones. In `native` a user VM's rules are in
    /// shared chains (`SharedChains`): its first bridge-family chain
    /// (`<vm>-in`) names it.
    public func vmChainNames(layout: Layout = .notrack) throws(NetfilterError) -> [String] {
        let names: [String]
        if layout == .native {
            let bridge = try nativeChainNames(.bridge).filter { $0.hasSuffix("-in") }.map { String($0.dropLast(3)) }
            names = Array(Set(try nativeChainNames(.ip) + bridge))
        } else {
            let table = try table(.filter, .ipv4, scope: .vms([], vifs: []))
            names = Array(table.chains.keys) + Array(table.otherChains)
        }
        return names.filter { Ownership.isVMObjectName($0) && !$0.hasSuffix("-def") && !$0.hasSuffix("-eg") }.sorted()
    }
}
