/// What one run may change: everything of ours on the host, or one VM's
/// own objects plus the host-wide ones its change affects (the bridge
/// chains, FORWARD, the metadata NAT, the `notrack` sets and raw rules, and
/// the ebtables PREROUTING/POSTROUTING jumps).
public enum Scope: Equatable, Sendable {
    case host
    case vm(VMName)

    /// Whether the VM's own chains, sets and ebtables chains are rendered and planned.
    public func includes(_ vm: VMName) -> Bool {
        switch self {
        case .host: true
        case .vm(let name): name == vm
        }
    }

    /// iptables chains this run reads in full and may create, change or delete.
    public func coversChain(_ chain: String) -> Bool {
        guard Ownership.ownsChain(chain) else { return false }
        switch self {
        case .host: return true
        case .vm(let name):
            let names = NetfilterNames(name)
            return chain.hasPrefix("BF-") || chain == names.vmChain || chain == names.egressChain
                || (name.kind == .user && chain == names.defaultChain)
        }
    }

    /// Sets this run reads and may create, change or destroy.
    public func coversSet(_ set: String) -> Bool {
        guard Ownership.ownsSet(set) else { return false }
        switch self {
        case .host: return true
        case .vm(let name):
            let names = NetfilterNames(name)
            return set.hasPrefix("cs_") || set == names.ipv4Set || set == names.ipv6Set
        }
    }

    /// ebtables user chains this run reads and may create, change or delete.
    public func coversEbtablesChain(_ chain: String) -> Bool {
        guard Ownership.isVMObjectName(chain) else { return false }
        switch self {
        case .host: return true
        case .vm(let name): return NetfilterNames(name).ebtablesChains.contains(chain)
        }
    }

    /// The sets of a VM scope by name; nil for the host (all sets).
    public func setNames() -> [String]? {
        guard case .vm(let name) = self else { return nil }
        let names = NetfilterNames(name)
        return [names.ipv4Set, names.ipv6Set] + AddressFamily.allCases.flatMap {
            [NetfilterNames.notrackSet($0), NetfilterNames.trackedSet($0)]
        }
    }

    /// The ebtables chains of a VM scope; nil for the host (the whole table).
    public func ebtablesChainNames() -> [String]? {
        guard case .vm(let name) = self else { return nil }
        return EbtablesTable.builtinChains.filter { $0 != "OUTPUT" } + NetfilterNames(name).ebtablesChains
    }
}
