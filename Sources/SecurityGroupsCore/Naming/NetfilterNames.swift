/// The kernel object names derived from a VM name: the script's names,
/// except for VM names too long for them.
///
/// One rule: a VM name of up to 20 characters gets exactly the names
/// `security_group.py` gives it. A longer name is first replaced by its
/// short form (`shortForm`, 20 characters, unique by a hash of the whole
/// name), which then gets the script's names. 20 is what the longest
/// suffix needs: `-out-dst` and `-out-ips` on an ebtables chain whose name
/// ebtables-nft's restore and jumps take up to 28 characters. The other
/// limits (iptables chains 28, ipset 31) hold for every name so derived.
public struct NetfilterNames: Hashable, Sendable {
    /// Longest VM name whose objects are named after it; longer names are shortened.
    public static let longestUnshortened = 20
    /// Longest chain name ebtables-restore and ebtables jumps take.
    public static let longestEbtablesChain = 28

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

    /// The names of `vm`'s objects.
    public init(_ vm: VMName) {
        self.init(deriving: vm.rawValue.count > Self.longestUnshortened ? Self.shortForm(vm.rawValue) : vm.rawValue)
    }

    /// The names `security_group.py` derives from `vm`, unshortened: what
    /// it left in the kernel for the VM, to read it back and remove it.
    /// Equal to `init(vm)` for names of up to 20 characters.
    public static func script(_ vm: VMName) -> NetfilterNames { NetfilterNames(deriving: vm.rawValue) }

    /// The script's derivation (its truncations, with the IPv6 set fixed).
    private init(deriving name: String) {
        vmChain = name.count > 25 ? String(name.prefix(24)) : name
        egressChain = vmChain + "-eg"
        defaultChain = vmChain.split(separator: "-", omittingEmptySubsequences: false).dropLast().joined(separator: "-") + "-def"
        ipv4Set = String(name.prefix(30))
        ipv6Set = String(name.prefix(29)) + "-6"
        ebtablesBase = String(name.prefix(22))
    }

    /// `<first 9 characters>-<8 hex digits of the name's FNV-1a hash>-L`:
    /// keeps the `i-<account>-<id>` a reader looks for, a trailing `-` of
    /// the cut dropped. The hash is not the last `-` part, so the default
    /// chain (`<first 9>-<hash>-def`) keeps it too; and the form is itself
    /// a VM name whose script names are these names, so objects found in
    /// the kernel lead back to all of them.
    public static func shortForm(_ name: String) -> String {
        var hash: UInt32 = 0x811c_9dc5
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash &*= 0x0100_0193
        }
        let digits = String(hash, radix: 16)
        var prefix = Substring(name.prefix(9))
        while prefix.hasSuffix("-") { prefix = prefix.dropLast() }
        return "\(prefix)-\(String(repeating: "0", count: 8 - digits.count))\(digits)-L"
    }

    /// The `notrack` layout's set of the peers of a VM's `number`th rule of
    /// a direction that names several CIDRs: `<vmChain>-i<n>` / `-e<n>`, `-6` for IPv6.
    public func peerSet(_ direction: SecurityGroupRule.Direction, _ number: Int, _ family: AddressFamily) -> String {
        vmChain + (direction == .ingress ? "-i" : "-e") + String(number) + (family == .ipv6 ? "-6" : "")
    }

    /// Whether `set` is one of `peerSet`'s names.
    public func isPeerSet(_ set: String) -> Bool {
        guard set.hasPrefix(vmChain + "-") else { return false }
        var rest = set.dropFirst(vmChain.count + 1)
        guard let kind = rest.first, kind == "i" || kind == "e" else { return false }
        rest = rest.dropFirst()
        if rest.hasSuffix("-6") { rest = rest.dropLast(2) }
        return !rest.isEmpty && rest.allSatisfy(\.isASCIIDigit)
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
    public static func notrackPortSet(_ family: AddressFamily) -> String { family == .ipv4 ? "cs_notrack_ports" : "cs_notrack_ports6" }

    /// The DHCP server's address on each port whose metadata HTTP stays tracked.
    public static let metadataSet = "cs_metadata"

    /// The `notrack` layout's shared sets.
    public static let notrackSets = AddressFamily.allCases.flatMap { [notrackSet($0), trackedSet($0), notrackPortSet($0)] } + [metadataSet]
}
