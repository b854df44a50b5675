/// What one run may change.
///
/// - `host`: everything of ours on the host; chains and sets are set to
///   exactly what the host state says.
/// - `vm`: one VM's own chains, sets and ebtables chains, plus its *share*
///   of what VMs have in common: its jumps in the bridge chains, its
///   metadata NAT, its addresses in the `notrack` sets, its ebtables jumps,
///   and the framework of its bridges. Other VMs' entries there are left
///   as they are, so VMs written by the script (or by an older state) keep
///   theirs. `vifs` are the VM's interfaces now and before, to find its
///   metadata rules.
public enum Scope: Equatable, Sendable {
    case host
    case vm(VMName, vifs: Set<String> = [])

    /// Whether the VM's own chains, sets and ebtables chains are rendered and planned.
    public func includes(_ vm: VMName) -> Bool {
        switch self {
        case .host: true
        case .vm(let name, _): name == vm
        }
    }

    // MARK: - iptables

    /// Chains to read and decode besides the built-in ones.
    public func readsChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vm(let name, _): chain.hasPrefix("BF-") || ownChains(name).contains(chain)
        }
    }

    /// Chains whose whole content this run sets (creating them if needed).
    public func ownsWholeChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vm(let name, _): isBridgeFramework(chain) || ownChains(name).contains(chain)
        }
    }

    /// Chains this run deletes when the desired state no longer has them.
    public func mayDeleteChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.ownsChain(chain)
        case .vm(let name, _): ownChains(name).contains(chain)
        }
    }

    /// Whether a rule in a chain this run shares with others (built-in
    /// chains; in a VM scope also the bridges' `-IN`/`-OUT` chains) is its own.
    public func ownsSharedRule(_ rule: KernelRule, chain: String, table: IPTable.Name, bridgeChains: Set<String>) -> Bool {
        switch self {
        case .host:
            return Ownership.ownsBuiltinRule(rule, chain: chain, table: table, bridgeChains: bridgeChains)
        case .vm(let name, let vifs):
            guard case .known(let known) = rule else { return false }
            if !table.isBuiltin(chain) {
                let names = NetfilterNames(name)
                return known.target == .jump(names.defaultChain) || known.target == .jump(names.vmChain)
            }
            guard Ownership.ownsBuiltinRule(rule, chain: chain, table: table, bridgeChains: bridgeChains) else { return false }
            if known.target == .notrack || chain == "FORWARD" { return true }
            return known.matches.contains { match in
                if case .physdev(let physdev) = match, let port = physdev.inPort { return vifs.contains(port) }
                return false
            }
        }
    }

    // MARK: - ipset

    /// Sets to read: all of ours for the host; the VM's and the `notrack` ones for a VM.
    public func setNames() -> [String]? {
        guard case .vm(let name, _) = self else { return nil }
        let names = NetfilterNames(name)
        return [names.ipv4Set, names.ipv6Set] + AddressFamily.allCases.flatMap {
            [NetfilterNames.notrackSet($0), NetfilterNames.trackedSet($0)]
        }
    }

    /// Sets whose whole content this run sets, and destroys when unwanted.
    public func ownsWholeSet(_ set: String) -> Bool {
        switch self {
        case .host: Ownership.ownsSet(set)
        case .vm(let name, _): set == NetfilterNames(name).ipv4Set || set == NetfilterNames(name).ipv6Set
        }
    }

    // MARK: - ebtables

    /// The ebtables chains to read; nil for the host (the whole table).
    public func ebtablesChainNames() -> [String]? {
        guard case .vm(let name, _) = self else { return nil }
        return ["PREROUTING", "POSTROUTING"] + NetfilterNames(name).ebtablesChains
    }

    /// User chains this run sets, and deletes when unwanted.
    public func ownsEbtablesChain(_ chain: String) -> Bool {
        switch self {
        case .host: Ownership.isVMObjectName(chain)
        case .vm(let name, _): NetfilterNames(name).ebtablesChains.contains(chain)
        }
    }

    /// Whether an ebtables rule `-i VIF -j CHAIN` jumps into a chain of this run's.
    public func ownsEbtablesJump(_ target: String) -> Bool {
        switch self {
        case .host: Ownership.isVMObjectName(target)
        case .vm(let name, _): NetfilterNames(name).ebtablesChains.contains(target)
        }
    }

    private func ownChains(_ name: VMName) -> [String] {
        let names = NetfilterNames(name)
        return name.kind == .user ? [names.vmChain, names.egressChain, names.defaultChain] : [names.vmChain]
    }

    private func isBridgeFramework(_ chain: String) -> Bool {
        chain.hasPrefix("BF-") && !chain.hasSuffix("-IN") && !chain.hasSuffix("-OUT")
    }
}
