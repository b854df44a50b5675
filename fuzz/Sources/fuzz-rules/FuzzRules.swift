import SecurityGroupsCore

/// `--rules`: any text is refused with an error naming it, or parsed into
/// rules whose wire form parses back to the same rules and renders.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    guard let rules = try? RuleParser.parse(text) else { return 0 }
    let wire = rules.map(\.wireForm).joined()
    guard let again = try? RuleParser.parse(wire), again == rules else {
        fatalError("the wire form of parsed rules does not parse back: \(wire)")
    }
    let nic = NIC(vif: try! InterfaceName("vnet7", field: "vif"), bridge: try! InterfaceName("cloudbr0", field: "brname"),
                  mac: MACAddress("02:00:00:00:00:07"), ipv4: IPv4Address("10.1.0.7"), ipv6: nil, secondaryAddresses: [])
    let vm = VirtualMachine(name: try! VMName("i-2-7-VM"), id: 7, nics: [nic], rules: rules)
    let host = HostState(bridges: [Bridge(name: try! InterfaceName("cloudbr0", field: "brname"), uplink: nil)], vms: [vm])
    _ = Renderer.render(host, layout: .notrack)
    return 0
}
