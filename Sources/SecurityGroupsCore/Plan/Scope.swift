/// What one run may change.
///
/// - `host`: everything of ours on the host; chains and sets are set to
///   exactly what the host state says.
/// - `vms`: some VMs' own chains, sets and ebtables chains, plus their
///   *share* of what VMs have in common: their jumps in the bridge chains,
///   metadata NAT, addresses in the `notrack` sets, ebtables jumps, and the
///   framework of their bridges. Other VMs' entries there are left as they
///   are, so VMs written by the script (or by an older state) keep theirs.
///   `vifs` are the VMs' interfaces now and before, to find their metadata rules.
public enum Scope: Equatable, Sendable {
    case host
    case vms(VMSelection)

    /// Up to this many VMs, a scope reads their sets by name (a netlink
    /// request each, tens of microseconds) instead of listing every set
    /// (0.6 s for 10,000 sets).
    static let setsReadByName = 256

    /// Some VMs' scope.
    public static func vms(_ names: Set<VMName>, vifs: Set<String>) -> Scope { .vms(VMSelection(names, vifs: vifs)) }

    /// One VM's scope.
    public static func vm(_ name: VMName, vifs: Set<String> = []) -> Scope { .vms([name], vifs: vifs) }

    /// Whether the VM's own chains, sets and ebtables chains are rendered and planned.
    public func includes(_ vm: VMName) -> Bool {
        switch self {
        case .host: true
        case .vms(let selection): selection.names.contains(vm)
        }
    }

    // MARK: - iptables

    /// Chains to read and decode besides the built-in ones.
    public func readsChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vms(let selection):
            chain.hasPrefix("BF-") || chain == Notrack.openSenderChain || selection.chains.contains(chain)
                || selection.dispatchChains.contains(chain)
        }
    }

    /// Whether a chain of the port dispatch is rendered and planned: all of
    /// them for the host; for VMs those on their ports' paths (the only
    /// ones their ports change).
    public func includesDispatchChain(_ chain: String) -> Bool {
        switch self {
        case .host: true
        case .vms(let selection): selection.dispatchChains.contains(chain)
        }
    }

    /// Whether a rule read from `chain`, jumping to `target`, must be decoded:
    /// in a VM scope, of the bridges' shared `-IN`/`-OUT` chains only the
    /// VM's own jumps matter (others stay opaque, which saves decoding
    /// thousands of rules on a large host).
    public func decodesRule(in chain: String, target: String?) -> Bool {
        guard case .vms(let selection) = self, chain.hasPrefix("BF-"), chain.hasSuffix("-IN") || chain.hasSuffix("-OUT") else {
            return true
        }
        guard let target else { return false }
        return selection.chains.contains(target) || InterfaceDispatch.isDispatchChain(target)
    }

    /// Chains whose whole content this run sets (creating them if needed).
    public func ownsWholeChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vms(let selection):
            isBridgeFramework(chain) || selection.chains.contains(chain) || selection.dispatchChains.contains(chain)
        }
    }

    /// Chains this run deletes when the desired state no longer has them.
    public func mayDeleteChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vms(let selection): selection.chains.contains(chain) || selection.dispatchChains.contains(chain)
        }
    }

    /// Whether a rule in a chain this run shares with others (built-in
    /// chains; in a VM scope also the bridges' `-IN`/`-OUT` chains) is its own.
    public func ownsSharedRule(_ rule: KernelRule, chain: String, table: IPTable.Name, bridgeChains: Set<String>) -> Bool {
        switch self {
        case .host:
            return Ownership.ownsBuiltinRule(rule, chain: chain, table: table, bridgeChains: bridgeChains)
        case .vms(let selection):
            guard case .known(let known) = rule else { return false }
            if !table.isBuiltin(chain) {
                guard case .jump(let target) = known.target else { return false }
                return selection.jumpTargets.contains(target) || InterfaceDispatch.isDispatchChain(target)
            }
            guard Ownership.ownsBuiltinRule(rule, chain: chain, table: table, bridgeChains: bridgeChains) else { return false }
            if chain == "FORWARD" {
                // Only the framework of the bridges this run programs.
                if case .jump(let target) = known.target { return bridgeChains.contains(target) }
                return true
            }
            if known.target == .notrack || known.referencedSets.contains(NetfilterNames.metadataSet) { return true }
            return known.matches.contains { match in
                if case .physdev(let physdev) = match, let port = physdev.inPort { return selection.vifs.contains(port) }
                return false
            }
        }
    }

    // MARK: - ipset

    /// Sets to read: all of ours for the host (or for very many VMs, where
    /// one listing beats one per set); the VMs' and the `notrack` ones otherwise.
    public func setNames() -> [String]? {
        guard case .vms(let selection) = self, selection.names.count <= Self.setsReadByName else { return nil }
        return selection.sets + NetfilterNames.notrackSets
    }

    /// Sets whose whole content this run sets, and destroys when unwanted.
    public func ownsWholeSet(_ set: String) -> Bool {
        switch self {
        case .host: Ownership.ownsSet(set)
        case .vms(let selection): selection.sets.contains(set) || selection.ownsPeerSet(set)
        }
    }

    // MARK: - ebtables

    /// The ebtables chains to read (the backend lists those that exist, or
    /// saves the whole table when they are many); nil for the host.
    public func ebtablesChainNames() -> [String]? {
        guard case .vms(let selection) = self else { return nil }
        return ["PREROUTING", "POSTROUTING"] + selection.ebtablesChains + selection.dispatchChains.sorted()
    }

    /// User chains this run sets, and deletes when unwanted.
    public func ownsEbtablesChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsEbtablesChain(chain)
        case .vms(let selection): selection.ebtablesChains.contains(chain) || selection.dispatchChains.contains(chain)
        }
    }

    /// Whether an ebtables rule `-i VIF -j CHAIN` jumps into a chain of this run's.
    public func ownsEbtablesJump(_ target: String) -> Bool {
        switch self {
        case .host: Ownership.ownsEbtablesChain(target)
        case .vms(let selection): selection.ebtablesChains.contains(target) || selection.dispatchChains.contains(target)
        }
    }

    /// `BF-<bridge>` and the fast path's chain: set whole by every run.
    private func isBridgeFramework(_ chain: String) -> Bool {
        (chain.hasPrefix("BF-") && !chain.hasSuffix("-IN") && !chain.hasSuffix("-OUT")) || chain == Notrack.openSenderChain
    }
}

/// The VMs of a VM scope with the names of their objects, worked out once:
/// reading a large table asks about every chain and every bridge jump.
public struct VMSelection: Equatable, Sendable {
    public let names: Set<VMName>
    /// The VMs' interfaces now and before.
    public let vifs: Set<String>
    /// Their iptables chains.
    public let chains: Set<String>
    /// Their chains a bridge chain may jump to (default and VM chains).
    let jumpTargets: Set<String>
    /// Their IPv4 and IPv6 sets, VMs by name.
    public let sets: [String]
    /// Their ebtables chains, VMs by name.
    public let ebtablesChains: [String]
    /// Their objects' names, ours and the script's.
    private let objectNames: [NetfilterNames]
    /// The port dispatch chains on their interfaces' paths (iptables and ebtables alike).
    let dispatchChains: Set<String>

    /// Whether `set` is one of their peer sets (`notrack`: another group's members).
    public func ownsPeerSet(_ set: String) -> Bool { objectNames.contains { $0.isPeerSet(set) } }

    /// The VMs' objects are named as `NetfilterNames` says; a VM whose name
    /// is shortened also owns what the script named after its whole name,
    /// so a run removes what the script left of it.
    public init(_ names: Set<VMName>, vifs: Set<String>) {
        self.names = names
        self.vifs = vifs
        let objects = names.sorted().flatMap { name in
            let ours = NetfilterNames(name), script = NetfilterNames.script(name)
            return ours == script ? [(name, ours)] : [(name, ours), (name, script)]
        }
        chains = Set(objects.flatMap { name, objects in
            name.kind == .user ? [objects.vmChain, objects.egressChain, objects.defaultChain] : [objects.vmChain]
        })
        jumpTargets = Set(objects.flatMap { [$0.1.defaultChain, $0.1.vmChain] })
        // ipset refuses names over 31 characters: the script never made such a set.
        sets = objects.flatMap { [$0.1.ipv4Set, $0.1.ipv6Set] }.filter { $0.count <= 31 }
        ebtablesChains = objects.flatMap { $0.1.ebtablesChains }
        objectNames = objects.filter { $0.0.kind == .user }.map(\.1)
        dispatchChains = Set(InterfaceDispatch.Direction.allCases.flatMap { direction in
            [direction.root] + vifs.flatMap { InterfaceDispatch.pathChains(of: $0, direction) }
        })
    }
}
