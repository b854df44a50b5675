import SecurityGroupsCore

/// The agent's scalar arguments: VM names (and the kernel names derived
/// from them), interface names, MACs, addresses, CIDRs, `--nicsecips`, ids,
/// signatures, sequence numbers, actions. Each value is accepted or refused
/// with an error; what is accepted prints back as it parses, and derived
/// names keep their limits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgentValues(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    if let name = try? VMName(text) {
        let names = NetfilterNames(name)
        let chains = [names.vmChain, names.egressChain, names.defaultChain] + names.ebtablesChains
        guard chains.allSatisfy({ $0.utf8.count <= 28 }), [names.ipv4Set, names.ipv6Set].allSatisfy({ $0.utf8.count <= 31 }) else {
            fatalError("a derived name is over its limit for \(text)")
        }
    }
    _ = try? InterfaceName(text, field: "vif")
    if let mac = MACAddress(text), MACAddress(mac.description) != mac { fatalError("MAC does not print back: \(text)") }
    if let address = IPAddress(text), IPAddress(address.description) != address { fatalError("address does not print back: \(text)") }
    if let network = IPNetwork(text), IPNetwork(network.description) != network { fatalError("CIDR does not print back: \(text)") }
    if let addresses = try? AgentArgument.secondaryIPs(text) {
        let wire = addresses.map { "\($0);" }.joined()
        guard (try? AgentArgument.secondaryIPs(wire.isEmpty ? "0;" : wire)) == addresses else {
            fatalError("--nicsecips does not parse back: \(text)")
        }
    }
    _ = try? AgentArgument.vmID(text)
    _ = try? AgentArgument.signature(text)
    _ = try? AgentArgument.sequenceNumber(text)
    _ = try? AgentArgument.action(text)
    return 0
}
