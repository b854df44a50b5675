/// The conntrack entries a change of the `notrack` sets leaves stale.
///
/// Once an address joins `cs_notrack`/`cs_notrack6`, conntrack no longer sees
/// its flows, so their entries stop following the TCP windows. Were the VM
/// tracked again later, the next packets of such a flow would fall outside
/// the window the entry remembers (INVALID), and replies the VM's rules only
/// let in as ESTABLISHED would be dropped: a connection that survives in
/// `classic` would hang. Forgetting the entries when the address joins lets
/// conntrack pick the flows up afresh instead. Flows with peers that stay
/// tracked (tracked guests, the host itself) keep their entries.
public struct UntrackedFlows: Equatable, Sendable {
    /// Addresses that join a `notrack` set in this run.
    public var addresses: Set<IPAddress> = []
    /// Peers whose flows stay tracked: the members of the `tracked` sets.
    public var trackedPeers: Set<IPAddress> = []

    public init(addresses: Set<IPAddress> = [], trackedPeers: Set<IPAddress> = []) {
        self.addresses = addresses
        self.trackedPeers = trackedPeers
    }

    public var isEmpty: Bool { addresses.isEmpty }

    /// Compares the desired `notrack` sets with what the kernel holds. In a
    /// VM scope the desired sets name only the VM's addresses, so the peers
    /// that stay tracked are taken from the kernel's `tracked` sets too.
    public static func plan(desired: [IPSet], kernel: [KernelSet]) -> UntrackedFlows {
        var flows = UntrackedFlows()
        func kernelMembers(_ name: String) -> [IPAddress] {
            (kernel.first { $0.name == name }?.members ?? []).compactMap(IPAddress.init)
        }
        for family in AddressFamily.allCases {
            let notrack = NetfilterNames.notrackSet(family), tracked = NetfilterNames.trackedSet(family)
            let present = Set(kernelMembers(notrack))
            func desiredMembers(_ name: String) -> [IPAddress] { (desired.first { $0.name == name }?.members ?? []).map(\.address) }
            flows.addresses.formUnion(desiredMembers(notrack).filter { !present.contains($0) })
            flows.trackedPeers.formUnion(desiredMembers(tracked) + kernelMembers(tracked))
        }
        flows.trackedPeers.subtract(flows.addresses)
        return flows
    }

    /// Whether the flow between `source` and `destination` is one of them.
    public func contains(source: IPAddress, destination: IPAddress, keeping local: Set<IPAddress>) -> Bool {
        func staysTracked(_ peer: IPAddress) -> Bool { trackedPeers.contains(peer) || local.contains(peer) }
        return (addresses.contains(source) && !staysTracked(destination))
            || (addresses.contains(destination) && !staysTracked(source))
    }
}
