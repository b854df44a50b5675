import SecurityGroupsCore

/// A host of `count` dual-stack guests, each with one NIC, one secondary
/// address and four ingress rules, spread over two bridges.
func syntheticHost(vms count: Int) -> HostState {
    let bridges = [
        Bridge(name: try! InterfaceName("cloudbr0", field: "bridge"), uplink: try! InterfaceName("eth0", field: "uplink")),
        Bridge(name: try! InterfaceName("cloudbr1", field: "bridge"), uplink: try! InterfaceName("eth1", field: "uplink")),
    ]
    let rules = try! RuleParser.parse(
        "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;")
    let vms = (0..<count).map { index -> VirtualMachine in
        let high = UInt8(index >> 8 & 0xff), low = UInt8(index & 0xff)
        let nic = NIC(
            vif: try! InterfaceName("vnet\(index)", field: "vif"),
            bridge: bridges[index % 2].name,
            mac: MACAddress(octets: [0x02, 0, 0, UInt8(index >> 16 & 0xff), high, low]),
            ipv4: IPv4Address(0x0a01_0000 | UInt32(index)),
            ipv6: IPv6Address(groups: [0x2001, 0xdb8, 0, 0, 0, 0, 0, UInt16(index)]),
            secondaryAddresses: [.v4(IPv4Address(0x0a02_0000 | UInt32(index)))])
        return VirtualMachine(name: try! VMName("i-2-\(index + 10)-VM"), id: UInt64(index + 10), nics: [nic], rules: rules)
    }
    return HostState(bridges: bridges, vms: vms)
}

