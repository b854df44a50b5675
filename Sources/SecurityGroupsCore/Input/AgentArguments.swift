/// Validators for the scalar arguments the agent passes, each throwing an
/// `InputError` that names the argument.
public enum AgentArgument {
    public static func mac(_ text: String, field: String = "vmmac") throws(InputError) -> MACAddress {
        guard let mac = MACAddress(text) else {
            throw InputError(field: field, value: text, reason: "expected six hex octets like 02:00:0a:01:00:07")
        }
        return mac
    }

    public static func ipv4(_ text: String, field: String = "vmip") throws(InputError) -> IPv4Address {
        guard let address = IPv4Address(text) else {
            let reason = IPv6Address(text) != nil ? "an IPv6 address where IPv4 is expected" : "not an IPv4 address"
            throw InputError(field: field, value: text, reason: reason)
        }
        return address
    }

    public static func ipv6(_ text: String, field: String = "vmip6") throws(InputError) -> IPv6Address {
        guard let address = IPv6Address(text) else {
            let reason = IPv4Address(text) != nil ? "an IPv4 address where IPv6 is expected" : "not an IPv6 address"
            throw InputError(field: field, value: text, reason: reason)
        }
        return address
    }

    public static func address(_ text: String, field: String) throws(InputError) -> IPAddress {
        guard let address = IPAddress(text) else {
            throw InputError(field: field, value: text, reason: "not an IPv4 or IPv6 address")
        }
        return address
    }

    /// `--nicsecips`: `0;` (or `0`) means none, and so does an empty string
    /// (the agent's form for a NIC whose list of secondary addresses is
    /// empty); otherwise `ip;ip;` of either family.
    public static func secondaryIPs(_ text: String, field: String = "nicsecips") throws(InputError) -> [IPAddress] {
        if text.isEmpty || text == "0;" || text == "0" { return [] }
        var items = text.split(separator: ";", omittingEmptySubsequences: false)
        if items.last == "" { items.removeLast() }
        var addresses: [IPAddress] = []
        for item in items {
            guard let address = IPAddress(String(item)) else {
                throw InputError(field: field, value: text, reason: "'\(item)' is not an IPv4 or IPv6 address")
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }

    /// `--vmid`: CloudStack's numeric VM id.
    public static func vmID(_ text: String, field: String = "vmid") throws(InputError) -> UInt64 {
        guard Substring(text).isDecimal, let value = UInt64(text) else {
            throw InputError(field: field, value: text, reason: "not a non-negative integer")
        }
        return value
    }

    /// `--sig`: the management server's signature of the rule set (an MD5 hex digest).
    public static func signature(_ text: String, field: String = "sig") throws(InputError) -> String {
        guard (1...64).contains(text.count),
              text.unicodeScalars.allSatisfy({ $0.isNameCharacter && $0 != "-" && $0 != "." })
        else { throw InputError(field: field, value: text, reason: "expected 1-64 letters, digits or '_'") }
        return text
    }

    /// `--seq`: the rule set's sequence number.
    public static func sequenceNumber(_ text: String, field: String = "seq") throws(InputError) -> Int64 {
        let digits = text.first == "-" ? Substring(text).dropFirst() : Substring(text)
        guard digits.isDecimal, let value = Int64(text), value >= -1 else {
            throw InputError(field: field, value: text, reason: "not an integer of -1 or more")
        }
        return value
    }

    /// `--action` of network_rules_vmSecondaryIp.
    public enum Action: String, Sendable {
        case add = "-A"
        case delete = "-D"
    }

    public static func action(_ text: String, field: String = "action") throws(InputError) -> Action {
        guard let action = Action(rawValue: text) else {
            throw InputError(field: field, value: text, reason: "must be -A or -D")
        }
        return action
    }
}
