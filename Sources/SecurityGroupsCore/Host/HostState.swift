/// The desired security-group state of one KVM host: what the renderer turns
/// into a complete ruleset.
public struct HostState: Equatable, Sendable {
    /// Bridges that carry firewalled VM ports, in the order their framework
    /// was first set up (later bridges' FORWARD rules sit above earlier ones).
    public var bridges: [Bridge]
    /// Guests and system VMs, in the order they were programmed.
    public var vms: [VirtualMachine]

    public init(bridges: [Bridge] = [], vms: [VirtualMachine] = []) {
        self.bridges = bridges
        self.vms = vms
    }
}

/// A Linux bridge with VM ports.
public struct Bridge: Equatable, Sendable {
    public var name: InterfaceName
    /// The bridge's port to the physical network (`--physdev-out` of the
    /// bridge chain's ACCEPT rule); nil when it has none.
    public var uplink: InterfaceName?

    public init(name: InterfaceName, uplink: InterfaceName?) {
        self.name = name
        self.uplink = uplink
    }
}

/// A guest or system VM and the state its security groups ask for.
public struct VirtualMachine: Equatable, Sendable {
    public var name: VMName
    /// CloudStack's VM id (`--vmid`).
    public var id: UInt64?
    /// NICs in device order; for a system VM only those on firewalled bridges.
    public var nics: [NIC]
    /// The rules of `add_network_rules`; nil until they arrive (the VM's
    /// ingress chain then drops everything and its egress chain is empty).
    public var rules: [SecurityGroupRule]?

    public init(name: VMName, id: UInt64? = nil, nics: [NIC], rules: [SecurityGroupRule]? = nil) {
        self.name = name
        self.id = id
        self.nics = nics
        self.rules = rules
    }
}

/// One VM network interface.
public struct NIC: Equatable, Sendable {
    /// The host side of the interface (`vnetN`).
    public var vif: InterfaceName
    public var bridge: InterfaceName
    /// Required for guests; unused for system VMs.
    public var mac: MACAddress?
    public var ipv4: IPv4Address?
    public var ipv6: IPv6Address?
    /// Secondary addresses of either family, in the order they were added.
    public var secondaryAddresses: [IPAddress]
    /// The metadata redirect of `post_default_network_rules`, if it ran.
    public var metadata: MetadataRedirect?

    public init(vif: InterfaceName, bridge: InterfaceName, mac: MACAddress? = nil, ipv4: IPv4Address? = nil,
                ipv6: IPv6Address? = nil, secondaryAddresses: [IPAddress] = [], metadata: MetadataRedirect? = nil) {
        self.vif = vif
        self.bridge = bridge
        self.mac = mac
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.secondaryAddresses = secondaryAddresses
        self.metadata = metadata
    }

    /// Every IPv4 address the NIC may use: primary, then secondaries.
    public var ipv4Addresses: [IPv4Address] {
        (ipv4.map { [$0] } ?? []) + secondaryAddresses.compactMap { if case .v4(let a) = $0 { a } else { nil } }
    }

    /// Every global IPv6 address the NIC may use: primary, then secondaries.
    public var ipv6Addresses: [IPv6Address] {
        (ipv6.map { [$0] } ?? []) + secondaryAddresses.compactMap { if case .v6(let a) = $0 { a } else { nil } }
    }

    /// The NIC's addresses of one family (primary and secondary).
    public func addresses(_ family: AddressFamily) -> [IPAddress] {
        switch family {
        case .ipv4: ipv4Addresses.map(IPAddress.v4)
        case .ipv6: ipv6Addresses.map(IPAddress.v6)
        }
    }
}

/// `post_default_network_rules`: the NIC's own IPv4 address is accepted from
/// it, ARP for other addresses is dropped, and HTTP to the DHCP server's
/// address on port 80 is sent to the host instead (DNAT, and an ebtables MAC
/// rewrite) when the agent names a DHCP server.
public struct MetadataRedirect: Equatable, Sendable {
    public var dhcpServer: IPv4Address?
    public var hostIP: IPv4Address
    public var hostMAC: MACAddress

    public init(dhcpServer: IPv4Address?, hostIP: IPv4Address, hostMAC: MACAddress) {
        self.dhcpServer = dhcpServer
        self.hostIP = hostIP
        self.hostMAC = hostMAC
    }
}
