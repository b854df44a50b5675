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
    case vms(Set<VMName>, vifs: Set<String>)

    /// One VM's scope.
    public static func vm(_ name: VMName, vifs: Set<String> = []) -> Scope { .vms([name], vifs: vifs) }

    /// Whether the VM's own chains, sets and ebtables chains are rendered and planned.
    public func includes(_ vm: VMName) -> Bool {
        switch self {
        case .host: true
        case .vms(let names, _): names.contains(vm)
        }
    }

    // MARK: - iptables

    /// Chains to read and decode besides the built-in ones.
    public func readsChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vms(let names, _): chain.hasPrefix("BF-") || ownChains(names).contains(chain)
        }
    }

    /// Whether a rule read from `chain`, jumping to `target`, must be decoded:
    /// in a VM scope, of the bridges' shared `-IN`/`-OUT` chains only the
    /// VM's own jumps matter (others stay opaque, which saves decoding
    /// thousands of rules on a large host).
    public func decodesRule(in chain: String, target: String?) -> Bool {
        guard case .vms(let names, _) = self, chain.hasPrefix("BF-"), chain.hasSuffix("-IN") || chain.hasSuffix("-OUT") else {
            return true
        }
        guard let target else { return false }
        return ownChains(names).contains(target)
    }

    /// Chains whose whole content this run sets (creating them if needed).
    public func ownsWholeChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vms(let names, _): isBridgeFramework(chain) || ownChains(names).contains(chain)
        }
    }

    /// Chains this run deletes when the desired state no longer has them.
    public func mayDeleteChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vms(let names, _): ownChains(names).contains(chain)
        }
    }

    /// Whether a rule in a chain this run shares with others (built-in
    /// chains; in a VM scope also the bridges' `-IN`/`-OUT` chains) is its own.
    public func ownsSharedRule(_ rule: KernelRule, chain: String, table: IPTable.Name, bridgeChains: Set<String>) -> Bool {
        switch self {
        case .host:
            return Ownership.ownsBuiltinRule(rule, chain: chain, table: table, bridgeChains: bridgeChains)
        case .vms(let names, let vifs):
            guard case .known(let known) = rule else { return false }
            if !table.isBuiltin(chain) {
                guard case .jump(let target) = known.target else { return false }
                return names.contains { NetfilterNames($0).defaultChain == target || NetfilterNames($0).vmChain == target }
            }
            guard Ownership.ownsBuiltinRule(rule, chain: chain, table: table, bridgeChains: bridgeChains) else { return false }
            if chain == "FORWARD" {
                // Only the framework of the bridges this run programs.
                if case .jump(let target) = known.target { return bridgeChains.contains(target) }
                return true
            }
            if known.target == .notrack { return true }
            return known.matches.contains { match in
                if case .physdev(let physdev) = match, let port = physdev.inPort { return vifs.contains(port) }
                return false
            }
        }
    }

    // MARK: - ipset

    /// Sets to read: all of ours for the host; the VM's and the `notrack` ones for a VM.
    public func setNames() -> [String]? {
        guard case .vms(let names, _) = self else { return nil }
        return names.sorted().flatMap { [NetfilterNames($0).ipv4Set, NetfilterNames($0).ipv6Set] }
            + AddressFamily.allCases.flatMap { [NetfilterNames.notrackSet($0), NetfilterNames.trackedSet($0)] }
    }

    /// Sets whose whole content this run sets, and destroys when unwanted.
    public func ownsWholeSet(_ set: String) -> Bool {
        switch self {
        case .host: Ownership.ownsSet(set)
        case .vms(let names, _): names.contains { set == NetfilterNames($0).ipv4Set || set == NetfilterNames($0).ipv6Set }
        }
    }

    // MARK: - ebtables

    /// The ebtables chains to read; nil for the host (the whole table).
    public func ebtablesChainNames() -> [String]? {
        guard case .vms(let names, _) = self else { return nil }
        return ["PREROUTING", "POSTROUTING"] + names.sorted().flatMap { NetfilterNames($0).ebtablesChains }
    }

    /// User chains this run sets, and deletes when unwanted.
    public func ownsEbtablesChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.isVMObjectName(chain)
        case .vms(let names, _): names.contains { NetfilterNames($0).ebtablesChains.contains(chain) }
        }
    }

    /// Whether an ebtables rule `-i VIF -j CHAIN` jumps into a chain of this run's.
    public func ownsEbtablesJump(_ target: String) -> Bool {
        switch self {
        case .host: Ownership.isVMObjectName(target)
        case .vms(let names, _): names.contains { NetfilterNames($0).ebtablesChains.contains(target) }
        }
    }

    private func ownChains(_ vms: Set<VMName>) -> Set<String> {
        Set(vms.flatMap { name -> [String] in
            let names = NetfilterNames(name)
            return name.kind == .user ? [names.vmChain, names.egressChain, names.defaultChain] : [names.vmChain]
        })
    }

    private func isBridgeFramework(_ chain: String) -> Bool {
        chain.hasPrefix("BF-") && !chain.hasSuffix("-IN") && !chain.hasSuffix("-OUT")
    }
}
