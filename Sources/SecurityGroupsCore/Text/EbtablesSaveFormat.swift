/// The `ebtables-save` text of our `nat` table, as ebtables-nft 1.8.9 prints it.
public enum EbtablesSaveFormat {
    /// Empty when there is nothing of ours: ebtables-nft does not print a
    /// table that was never created.
    public static func text(_ table: EbtablesTable) -> String {
        if table.isEmpty { return "" }
        let userChains = table.chains.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        var out = "*nat\n"
        for chain in EbtablesTable.builtinChains { out += ":\(chain) ACCEPT\n" }
        for chain in userChains { out += ":\(chain) \(EbtablesTable.policy(of: chain))\n" }
        for chain in EbtablesTable.builtinChains {
            for rule in table.builtinRules[chain] ?? [] { out += line(rule, chain: chain) + "\n" }
        }
        for chain in userChains {
            for rule in table.chains[chain] ?? [] { out += line(rule, chain: chain) + "\n" }
        }
        return out
    }

    /// One rule without `-A CHAIN `, as a chain listing prints it.
    public static func body(_ rule: EbtablesRule) -> String {
        String(line(rule, chain: "X").dropFirst(5))
    }

    /// One rule as `-A CHAIN ...`, options in ebtables-nft's print order.
    public static func line(_ rule: EbtablesRule, chain: String) -> String {
        var words = ["-A", chain]
        if let type = rule.etherType { words += ["-p", type.rawValue] }
        if let mac = rule.sourceMAC { words += ["-s", mac.description] }
        if let name = rule.inInterface { words += ["-i", name] }
        if let name = rule.outInterface { words += ["-o", name] }
        if let operation = rule.arpOperation { words += ["--arp-op", operation.rawValue] }
        if let ip = rule.arpIPSource { words += ["--arp-ip-src"] + (rule.arpIPSourceInverted ? ["!"] : []) + [ip.description] }
        if let ip = rule.arpIPDestination { words += ["--arp-ip-dst"] + (rule.arpIPDestinationInverted ? ["!"] : []) + [ip.description] }
        if let mac = rule.arpMACSource { words += ["--arp-mac-src", mac.description] }
        if let mac = rule.arpMACDestination { words += ["--arp-mac-dst", mac.description] }
        if let ip = rule.ipDestination { words += ["--ip-dst", ip.description] }
        if let port = rule.ipTCPDestinationPort { words += ["--ip-proto", "tcp", "--ip-dport", String(port)] }
        switch rule.target {
        case .accept: words += ["-j", "ACCEPT"]
        case .drop: words += ["-j", "DROP"]
        case .return: words += ["-j", "RETURN"]
        case .jump(let chain): words += ["-j", chain]
        case .destinationNAT(let mac): words += ["-j", "dnat", "--to-dst", mac.description, "--dnat-target", "ACCEPT"]
        }
        return words.joined(separator: " ")
    }
}

extension EbtablesSaveFormat {
    /// The rule a chain listing prints (`-A CHAIN ` cut off): the inverse of
    /// `body`, for the kinds our layouts and the script write; nil for any
    /// other rule (another tool's, or a form we never write).
    public static func rule(_ body: String) -> EbtablesRule? {
        var words = body.split(separator: " ").map(String.init)[...]
        var rule = EbtablesRule(target: .accept)
        var target: EbtablesTarget?
        func value() -> String? { words.popFirst() }
        func inverted() -> Bool {
            guard words.first == "!" else { return false }
            words.removeFirst()
            return true
        }
        while let option = words.popFirst() {
            switch option {
            case "-p": guard let type = value().flatMap(EbtablesRule.EtherType.init) else { return nil }; rule.etherType = type
            case "-s": guard let mac = value().flatMap(MACAddress.init) else { return nil }; rule.sourceMAC = mac
            case "-i": guard let name = value() else { return nil }; rule.inInterface = name
            case "-o": guard let name = value() else { return nil }; rule.outInterface = name
            case "--arp-op": guard let operation = value().flatMap(EbtablesRule.ARPOperation.init) else { return nil }; rule.arpOperation = operation
            case "--arp-ip-src":
                rule.arpIPSourceInverted = inverted()
                guard let ip = value().flatMap(IPv4Address.init) else { return nil }
                rule.arpIPSource = ip
            case "--arp-ip-dst":
                rule.arpIPDestinationInverted = inverted()
                guard let ip = value().flatMap(IPv4Address.init) else { return nil }
                rule.arpIPDestination = ip
            case "--arp-mac-src": guard let mac = value().flatMap(MACAddress.init) else { return nil }; rule.arpMACSource = mac
            case "--arp-mac-dst": guard let mac = value().flatMap(MACAddress.init) else { return nil }; rule.arpMACDestination = mac
            case "--ip-dst": guard let ip = value().flatMap(IPv4Address.init) else { return nil }; rule.ipDestination = ip
            case "--ip-proto": guard value() == "tcp", words.popFirst() == "--ip-dport", let port = value().flatMap(UInt16.init) else { return nil }
                rule.ipTCPDestinationPort = port
            case "-j":
                switch value() {
                case "ACCEPT": target = .accept
                case "DROP": target = .drop
                case "RETURN": target = .return
                case "dnat":
                    guard words.popFirst() == "--to-dst", let mac = value().flatMap(MACAddress.init),
                          Array(words) == ["--dnat-target", "ACCEPT"] else { return nil }
                    words = []
                    target = .destinationNAT(mac)
                case let chain?: target = .jump(chain)
                case nil: return nil
                }
            default: return nil
            }
        }
        guard let target else { return nil }
        rule.target = target
        return rule
    }
}
