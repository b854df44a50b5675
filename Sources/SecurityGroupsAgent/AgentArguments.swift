import SecurityGroupsCore

/// The script's arguments, as the agent passes them (every command accepts
/// all of them, like the script's single argparse parser).
public struct AgentArguments: Sendable {
    public var vmName: String?
    public var vmIP: String?
    public var vmIP6: String?
    public var vmID: String?
    public var vmMAC: String?
    public var vif: String?
    public var signature: String?
    public var sequence: String?
    public var rules: String?
    public var bridge: String?
    public var localBridge: String?
    public var dhcpServer: String?
    public var hostIP: String?
    public var hostMAC: String?
    public var secondaryIPs: String?
    public var action: String?
    public var privateNIC: String?
    public var isFirstNIC = false
    public var check = false

    public init() {}

    /// The arguments as given, for the log.
    var summary: String {
        let pairs: [(String, String?)] = [
            ("vmname", vmName), ("vmid", vmID), ("vmip", vmIP), ("vmip6", vmIP6), ("vmmac", vmMAC), ("vif", vif),
            ("brname", bridge), ("localbrname", localBridge), ("nicsecips", secondaryIPs), ("sig", signature),
            ("seq", sequence), ("rules", rules), ("dhcpSvr", dhcpServer), ("hostIp", hostIP), ("hostMacAddr", hostMAC),
            ("action", action), ("privnic", privateNIC),
        ]
        let options = pairs.compactMap { name, value in value.map { "--\(name) \($0)" } }
        return (options + (isFirstNIC ? ["--isFirstNic"] : []) + (check ? ["--check"] : [])).joined(separator: " ")
    }

    func required(_ value: String?, _ field: String) throws(InputError) -> String {
        guard let value else { throw InputError(field: field, value: "", reason: "required by this command") }
        return value
    }

    var name: VMName { get throws(InputError) { try VMName(try required(vmName, "vmname")) } }

    /// The NIC the arguments describe (`--vif`, `--brname`, `--vmmac`, addresses).
    func nic() throws(InputError) -> NIC {
        let vif = try InterfaceName(try required(vif, "vif"), field: "vif")
        let bridge = try InterfaceName(try required(bridge, "brname"), field: "brname")
        let mac = try AgentArgument.mac(try required(vmMAC, "vmmac"))
        let ipv4 = try vmIP.map { (text) throws(InputError) in try AgentArgument.ipv4(text) }
        // The agent passes whatever the NIC has; like the script, a value
        // that is not an IPv6 address means none.
        let ipv6 = vmIP6.flatMap { IPv6Address($0) }
        let secondary = try secondaryIPs.map { (text) throws(InputError) in try AgentArgument.secondaryIPs(text) } ?? []
        return NIC(vif: vif, bridge: bridge, mac: mac, ipv4: ipv4, ipv6: ipv6, secondaryAddresses: secondary)
    }

    var id: UInt64? { get throws(InputError) { try vmID.map { (text) throws(InputError) in try AgentArgument.vmID(text) } } }
}
