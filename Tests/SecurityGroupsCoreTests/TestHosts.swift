@testable import SecurityGroupsCore

/// Small hosts built in code for renderer tests.
enum TestHosts {
    static let bridge = Bridge(name: try! InterfaceName("cloudbr0", field: "bridge"), uplink: try! InterfaceName("eth0", field: "uplink"))

    static func nic(_ index: Int, ipv4: String? = nil, ipv6: String? = nil, secondary: [String] = [],
                    metadata: MetadataRedirect? = nil) -> NIC {
        NIC(vif: try! InterfaceName("vnet\(index)", field: "vif"), bridge: bridge.name,
            mac: MACAddress(octets: [2, 0, 0, 0, UInt8(index >> 8), UInt8(index & 0xff)]),
            ipv4: ipv4.map { IPv4Address($0)! }, ipv6: ipv6.map { IPv6Address($0)! },
            secondaryAddresses: secondary.map { IPAddress($0)! }, metadata: metadata)
    }

    static func guest(_ name: String, nics: [NIC], rules: String?) -> VirtualMachine {
        VirtualMachine(name: try! VMName(name), nics: nics, rules: rules.map { try! RuleParser.parse($0) })
    }

    static func host(_ vms: VirtualMachine...) -> HostState {
        HostState(bridges: [bridge], vms: vms)
    }

    /// The iptables-save lines of one chain.
    static func lines(_ table: IPTable, _ chain: String) -> [String] {
        let rules = table.chains[chain] ?? table.builtinRules[chain] ?? []
        return rules.map { IPTablesSaveFormat.line($0, chain: chain) }
    }
}
