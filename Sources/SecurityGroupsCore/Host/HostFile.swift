public import Foundation

/// Reads and writes a `HostState` as JSON (the `--host FILE` format).
///
/// Every value goes through the same validators as the agent's arguments;
/// an error names the JSON path, e.g. `vms[0].nics[1].mac`.
public enum HostFile {
    public static func decode(_ data: Data) throws(InputError) -> HostState {
        let document: HostDocument
        do {
            document = try JSONDecoder().decode(HostDocument.self, from: data)
        } catch {
            throw InputError(field: "host file", value: "", reason: "not a valid host document: \(describe(error))")
        }
        return try document.validated()
    }

    public static func encode(_ host: HostState) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        return try! encoder.encode(HostDocument(host))
    }

    /// The host's document with one more top-level object, `key` (readers
    /// of host files ignore it): a state file's `agent` annotations.
    public static func encode(_ host: HostState, adding key: String, _ extra: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(ExtendedHostDocument(document: HostDocument(host), key: key, extra: extra))
    }

    private static func describe(_ error: any Error) -> String {
        guard let decodingError = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch decodingError {
        case .keyNotFound(let key, let context): return "missing key \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(decodingError)"
        }
    }
}

/// A host document and one more top-level key.
private struct ExtendedHostDocument<Extra: Encodable>: Encodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let document: HostDocument
    let key: String
    let extra: Extra

    func encode(to encoder: any Encoder) throws {
        try document.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(extra, forKey: Key(stringValue: key))
    }
}

/// The JSON shape of a host file: plain strings, validated into the model.
struct HostDocument: Codable {
    struct BridgeDocument: Codable {
        var name: String
        var uplink: String?
    }
    struct MetadataDocument: Codable {
        var dhcpServer: String?
        var hostIp: String
        var hostMac: String
    }
    struct NICDocument: Codable {
        var vif: String
        var bridge: String
        var mac: String?
        var ipv4: String?
        var ipv6: String?
        var secondaryIps: [String]?
        var metadata: MetadataDocument?
    }
    struct VMDocument: Codable {
        var name: String
        var id: UInt64?
        var nics: [NICDocument]
        var rules: String?
    }

    var bridges: [BridgeDocument]
    var vms: [VMDocument]

    init(_ host: HostState) {
        bridges = host.bridges.map { BridgeDocument(name: $0.name.rawValue, uplink: $0.uplink?.rawValue) }
        vms = host.vms.map { vm in
            VMDocument(
                name: vm.name.rawValue, id: vm.id,
                nics: vm.nics.map { nic in
                    NICDocument(
                        vif: nic.vif.rawValue, bridge: nic.bridge.rawValue, mac: nic.mac?.description,
                        ipv4: nic.ipv4?.description, ipv6: nic.ipv6?.description,
                        secondaryIps: nic.secondaryAddresses.isEmpty ? nil : nic.secondaryAddresses.map(\.description),
                        metadata: nic.metadata.map {
                            MetadataDocument(dhcpServer: $0.dhcpServer?.description, hostIp: $0.hostIP.description,
                                             hostMac: $0.hostMAC.description)
                        })
                },
                rules: vm.rules.map { $0.map(\.wireForm).joined() })
        }
    }

    func validated() throws(InputError) -> HostState {
        var bridgeList: [Bridge] = []
        for (index, document) in bridges.enumerated() {
            let path = "bridges[\(index)]"
            let name = try InterfaceName(document.name, field: "\(path).name")
            guard !bridgeList.contains(where: { $0.name == name }) else {
                throw InputError(field: "\(path).name", value: document.name, reason: "bridge listed twice")
            }
            let uplink = try document.uplink.map { (text) throws(InputError) in try InterfaceName(text, field: "\(path).uplink") }
            bridgeList.append(Bridge(name: name, uplink: uplink))
        }
        var machines: [VirtualMachine] = []
        var vifs: Set<InterfaceName> = []
        for (index, document) in vms.enumerated() {
            let path = "vms[\(index)]"
            let name = try VMName(document.name, field: "\(path).name")
            guard !machines.contains(where: { $0.name == name }) else {
                throw InputError(field: "\(path).name", value: document.name, reason: "VM listed twice")
            }
            guard name.kind == .system || !document.nics.isEmpty else {
                throw InputError(field: "\(path).nics", value: "", reason: "a guest needs at least one NIC")
            }
            var nics: [NIC] = []
            for (nicIndex, nicDocument) in document.nics.enumerated() {
                let nicPath = "\(path).nics[\(nicIndex)]"
                let nic = try nicDocument.validated(path: nicPath, kind: name.kind)
                guard bridgeList.contains(where: { $0.name == nic.bridge }) else {
                    throw InputError(field: "\(nicPath).bridge", value: nic.bridge.rawValue, reason: "not listed under bridges")
                }
                guard vifs.insert(nic.vif).inserted else {
                    throw InputError(field: "\(nicPath).vif", value: nic.vif.rawValue, reason: "vif used by another NIC")
                }
                nics.append(nic)
            }
            var rules: [SecurityGroupRule]?
            if let text = document.rules {
                guard name.kind == .user else {
                    throw InputError(field: "\(path).rules", value: text, reason: "system VMs take no security group rules")
                }
                rules = try RuleParser.parse(text, field: "\(path).rules")
            }
            machines.append(VirtualMachine(name: name, id: document.id, nics: nics, rules: rules))
        }
        return HostState(bridges: bridgeList, vms: machines)
    }
}

extension HostDocument.NICDocument {
    func validated(path: String, kind: VMName.Kind) throws(InputError) -> NIC {
        let vif = try InterfaceName(self.vif, field: "\(path).vif")
        let bridge = try InterfaceName(self.bridge, field: "\(path).bridge")
        if kind == .system {
            guard mac == nil, ipv4 == nil, ipv6 == nil, secondaryIps == nil, metadata == nil else {
                throw InputError(field: path, value: self.vif, reason: "a system VM NIC has only vif and bridge")
            }
            return NIC(vif: vif, bridge: bridge)
        }
        guard let macText = mac else {
            throw InputError(field: "\(path).mac", value: "", reason: "a guest NIC needs its MAC address")
        }
        let mac = try AgentArgument.mac(macText, field: "\(path).mac")
        let ipv4 = try self.ipv4.map { (text) throws(InputError) in try AgentArgument.ipv4(text, field: "\(path).ipv4") }
        let ipv6 = try self.ipv6.map { (text) throws(InputError) in try AgentArgument.ipv6(text, field: "\(path).ipv6") }
        var secondary: [IPAddress] = []
        for (index, text) in (secondaryIps ?? []).enumerated() {
            let address = try AgentArgument.address(text, field: "\(path).secondaryIps[\(index)]")
            if !secondary.contains(address) { secondary.append(address) }
        }
        let metadata = try self.metadata.map { (document) throws(InputError) in
            MetadataRedirect(
                dhcpServer: try document.dhcpServer.map { (text) throws(InputError) in
                    try AgentArgument.ipv4(text, field: "\(path).metadata.dhcpServer")
                },
                hostIP: try AgentArgument.ipv4(document.hostIp, field: "\(path).metadata.hostIp"),
                hostMAC: try AgentArgument.mac(document.hostMac, field: "\(path).metadata.hostMac"))
        }
        if metadata != nil, ipv4 == nil {
            throw InputError(field: "\(path).metadata", value: "", reason: "the metadata redirect needs the NIC's ipv4")
        }
        return NIC(vif: vif, bridge: bridge, mac: mac, ipv4: ipv4, ipv6: ipv6, secondaryAddresses: secondary, metadata: metadata)
    }
}
