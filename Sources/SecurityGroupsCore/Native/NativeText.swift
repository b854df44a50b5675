/// A native table in nft's language: what `plan` prints and `nft -f` loads
/// to the same tables our netlink writer makes.
extension NativeTable {
    public var text: String {
        let objects = sets.map(\.text)
        let chainTexts = chains.map { chain in
            let header = chain.hook.map { ["type \($0.type) hook \($0.point.rawValue) priority \(Self.priorityName($0.priority, family)); policy accept;"] } ?? []
            return "\tchain \(chain.name) {\n" + (header + chain.rules.map { NativeText.rule($0) }).map { "\t\t\($0)\n" }.joined() + "\t}\n"
        }
        return "table \(family.rawValue) \(NativeRuleset.tableName) {\n" + (objects + chainTexts).joined(separator: "\n") + "}\n"
    }

    /// nft's names for the standard priorities of the hooks we use.
    private static func priorityName(_ priority: Int32, _ family: Family) -> String {
        let names: [Int32: String] = family == .bridge ? [-300: "dstnat", -200: "filter", 300: "srcnat"]
            : [-300: "raw", -100: "dstnat", 0: "filter", 100: "srcnat"]
        return names[priority] ?? String(priority)
    }
}

extension NativeSet {
    var text: String {
        var lines = ["type " + key.map(\.rawValue).joined(separator: " . ") + (data.map { " : " + Self.typeName($0) } ?? "")]
        if interval { lines.append("flags interval") }
        if autoMerge { lines.append("auto-merge") }
        if !elements.isEmpty {
            lines.append("elements = { " + elements.map { element in
                zip(element.key, key).map { NativeText.value($0, $1) }.joined(separator: " . ")
                    + (element.data.map { " : " + NativeText.value($0, data.flatMap(Self.valueType)) } ?? "")
            }.joined(separator: ", ") + " }")
        }
        return "\t\(data == nil ? "set" : "map") \(name) {\n" + lines.map { "\t\t\($0)\n" }.joined() + "\t}\n"
    }

    private static func typeName(_ data: DataType) -> String {
        switch data {
        case .value(let type): type.rawValue
        case .verdict: "verdict"
        }
    }

    private static func valueType(_ data: DataType) -> NativeType? {
        if case .value(let type) = data { type } else { nil }
    }
}

public enum NativeText {
    public static func rule(_ statements: [NativeStatement]) -> String {
        statements.map(statement).joined(separator: " ")
    }

    static func statement(_ statement: NativeStatement) -> String {
        switch statement {
        case .interface(let key, let name, let wildcard):
            return "\(key == .inInterface ? "iifname" : "oifname") \"\(name)\(wildcard ? "*" : "")\""
        case .address(let direction, let network, let inverted):
            let name = network.address.family == .ipv4 ? "ip" : "ip6"
            return "\(name) \(direction == .source ? "saddr" : "daddr") \(inverted ? "!= " : "")\(network)"
        case .carrier(let key, let value, let inverted):
            return "\(self.key(key)) \(inverted ? "!= " : "")\(number(value, key.type))"
        case .transportProtocol(let number):
            return "meta l4proto \(number)"
        case .ports(let number, let direction, let range):
            return "\(number == 6 ? "tcp" : "udp") \(direction == .source ? "sport" : "dport") \(text(range))"
        case .icmpType(let family, let type):
            return "\(family == .ipv4 ? "icmp" : "icmpv6") type \(type)"
        case .icmpCode(let family, let codes):
            return "\(family == .ipv4 ? "icmp" : "icmpv6") code \(text(codes))"
        case .connectionState(let states):
            return "ct state \(stateNames(states))"
        case .lookup(let keys, let set, let inverted):
            return keys.map(key).joined(separator: " . ") + " \(inverted ? "!= " : "")@\(set)"
        case .hopLimit(let limit):
            return "ip6 hoplimit \(limit)"
        case .destinationIsLocal(let inverted):
            return "fib daddr type \(inverted ? "!= " : "")local"
        case .etherType(let type):
            return "ether type \(type == 0x0806 ? "arp" : type == 0x0800 ? "ip" : "0x" + String(type, radix: 16))"
        case .etherSource(let mac):
            return "ether saddr \(mac)"
        case .arpOperation(let operation):
            return "arp operation \(operation == 1 ? "request" : operation == 2 ? "reply" : String(operation))"
        case .arpAddress(let direction, let address, let inverted):
            return "arp \(direction == .source ? "saddr" : "daddr") ip \(inverted ? "!= " : "")\(address)"
        case .arpHardwareAddress(let direction, let mac):
            return "arp \(direction == .source ? "saddr" : "daddr") ether \(mac)"
        case .ipProtocol(let number):
            return "ip protocol \(number == 6 ? "tcp" : number == 17 ? "udp" : String(number))"
        case .setEtherDestination(let mac):
            return "ether daddr set \(mac)"
        case .verdictMap(let key, let map):
            return "\(self.key(key)) vmap @\(map)"
        case .setCarrier(let carrier, let from, let map):
            return "\(key(carrier)) set \(key(from)) map @\(map)"
        case .clearPriority:
            return "meta priority set none"
        case .verdict(let verdict):
            return Self.verdict(verdict)
        case .destinationNAT(let address, let port):
            return "dnat to \(address):\(port)"
        case .notrack:
            return "notrack"
        }
    }

    static func key(_ key: NativeKey) -> String {
        switch key {
        case .inInterface: "iifname"
        case .outInterface: "oifname"
        case .mark: "meta mark"
        case .priority: "meta priority"
        case .address(let family, let direction): "\(family == .ipv4 ? "ip" : "ip6") \(direction == .source ? "saddr" : "daddr")"
        }
    }

    static func value(_ value: NativeValue, _ type: NativeType?) -> String {
        switch value {
        case .interface(let name): "\"\(name)\""
        case .number(let number): self.number(number, type ?? .mark)
        case .network(let network): network.prefixLength == (network.address.family == .ipv4 ? 32 : 128) ? network.address.description : network.description
        case .jump(let chain): "jump \(chain)"
        }
    }

    /// A mark in hex; a class id as `major:minor` in hex (`none` is 0).
    static func number(_ value: UInt32, _ type: NativeType) -> String {
        switch type {
        case .classID: value == 0 ? "none" : String(value >> 16, radix: 16) + ":" + String(value & 0xffff, radix: 16)
        default: "0x" + String(value, radix: 16)
        }
    }

    static func verdict(_ verdict: NativeVerdict) -> String {
        switch verdict {
        case .accept: "accept"
        case .drop: "drop"
        case .return: "return"
        case .jump(let chain): "jump \(chain)"
        }
    }

    private static func text<T: BinaryInteger>(_ range: ClosedRange<T>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    }

    private static func stateNames(_ states: ConnectionStates) -> String {
        let names: [(ConnectionStates, String)] = [
            (.invalid, "invalid"), (.established, "established"), (.related, "related"), (.new, "new"), (.untracked, "untracked"),
        ]
        return names.filter { states.contains($0.0) }.map(\.1).joined(separator: ",")
    }
}
