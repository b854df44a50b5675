/// The kernel object names `security_group.py` derives from a VM name, with
/// its truncations, so our chains and sets are the script's.
public struct NetfilterNames: Hashable, Sendable {
    /// iptables ingress chain: the VM name, cut to 24 characters when longer
    /// than 25 (room for `-eg`; legacy chain names hold 28 characters).
    public let vmChain: String
    /// iptables egress chain: `vmChain` + `-eg`.
    public let egressChain: String
    /// iptables per-NIC default chain: `vmChain` without its last `-` part, + `-def`
    /// (`i-2-7-VM` → `i-2-7-def`).
    public let defaultChain: String
    /// IPv4 address set: the name cut to 30 characters.
    public let ipv4Set: String
    /// IPv6 address set: the name cut to 29 characters, + `-6`. The script cuts
    /// to 30 first, which overflows ipset's 31-character limit.
    public let ipv6Set: String
    /// Prefix of the six ebtables chains: the name cut to 22 characters.
    public let ebtablesBase: String

    public init(_ vm: VMName) {
        let name = vm.rawValue
        vmChain = name.count > 25 ? String(name.prefix(24)) : name
        egressChain = vmChain + "-eg"
        defaultChain = vmChain.split(separator: "-", omittingEmptySubsequences: false).dropLast().joined(separator: "-") + "-def"
        ipv4Set = String(name.prefix(30))
        ipv6Set = String(name.prefix(29)) + "-6"
        ebtablesBase = String(name.prefix(22))
    }

    public var ebtablesIn: String { ebtablesBase + "-in" }
    public var ebtablesOut: String { ebtablesBase + "-out" }
    public var ebtablesInIPs: String { ebtablesBase + "-in-ips" }
    public var ebtablesOutIPs: String { ebtablesBase + "-out-ips" }
    public var ebtablesInSource: String { ebtablesBase + "-in-src" }
    public var ebtablesOutDestination: String { ebtablesBase + "-out-dst" }

    /// The six ebtables chains of a guest.
    public var ebtablesChains: [String] {
        [ebtablesIn, ebtablesOut, ebtablesInIPs, ebtablesOutIPs, ebtablesInSource, ebtablesOutDestination]
    }

    /// The bridge firewall chain of a bridge: `BF-<bridge>`.
    public static func bridgeChain(_ bridge: InterfaceName) -> String { "BF-" + bridge.rawValue }

    /// The sets of the `notrack` layout.
    public static func notrackSet(_ family: AddressFamily) -> String { family == .ipv4 ? "cs_notrack" : "cs_notrack6" }
    public static func trackedSet(_ family: AddressFamily) -> String { family == .ipv4 ? "cs_tracked" : "cs_tracked6" }
}
