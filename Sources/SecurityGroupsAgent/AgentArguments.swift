public import SecurityGroupsCore

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

    /// The script's options, by name: each sets one field.
    private static var options: [(name: String, field: WritableKeyPath<AgentArguments, String?>)] { [
        ("vmname", \.vmName), ("vmip", \.vmIP), ("vmip6", \.vmIP6), ("vmid", \.vmID), ("vmmac", \.vmMAC),
        ("vif", \.vif), ("sig", \.signature), ("seq", \.sequence), ("rules", \.rules), ("brname", \.bridge),
        ("localbrname", \.localBridge), ("dhcpSvr", \.dhcpServer), ("hostIp", \.hostIP),
        ("hostMacAddr", \.hostMAC), ("nicsecips", \.secondaryIPs), ("action", \.action), ("privnic", \.privateNIC),
    ] }
    private static var flags: [(name: String, field: WritableKeyPath<AgentArguments, Bool>)] { [
        ("isFirstNic", \.isFirstNIC), ("check", \.check),
    ] }

    /// One line naming every option, for `--help`.
    public static var usage: String {
        (options.map { "[--\($0.name) \($0.name.uppercased())]" } + flags.map { "[--\($0.name)]" }).joined(separator: " ")
    }

    /// Parses the words after the command name the way the script's argparse
    /// parser does: `--name value` or `--name=value`, flags without a value,
    /// an unambiguous prefix of a name for the name, the last of a repeated
    /// option wins. Anything else is an error naming the word.
    public init(parsing words: [String]) throws(InputError) {
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                throw InputError(field: "argument", value: word, reason: "not an option of security_group.py")
            }
            let body = word.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inlineValue = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
            switch try Self.resolve(name, word: word) {
            case .flag(let field):
                guard inlineValue == nil else { throw InputError(field: "argument", value: word, reason: "--\(name) takes no value") }
                self[keyPath: field] = true
            case .option(let field, let fullName):
                if let inlineValue {
                    self[keyPath: field] = inlineValue
                } else {
                    guard index < words.count, !words[index].hasPrefix("--") else {
                        throw InputError(field: fullName, value: "", reason: "expected one argument")
                    }
                    self[keyPath: field] = words[index]
                    index += 1
                }
            }
        }
    }

    private enum Resolved {
        case option(WritableKeyPath<AgentArguments, String?>, name: String)
        case flag(WritableKeyPath<AgentArguments, Bool>)
    }

    private static func resolve(_ name: String, word: String) throws(InputError) -> Resolved {
        let names = options.map(\.name) + flags.map(\.name)
        let matches = names.contains(name) ? [name] : names.filter { $0.hasPrefix(name) }
        guard matches.count == 1, let match = matches.first else {
            let reason = matches.isEmpty ? "not an option of security_group.py"
                : "ambiguous: " + matches.map { "--\($0)" }.joined(separator: ", ")
            throw InputError(field: "argument", value: word, reason: reason)
        }
        if let option = options.first(where: { $0.name == match }) { return .option(option.field, name: match) }
        return .flag(flags.first { $0.name == match }!.field)
    }

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
