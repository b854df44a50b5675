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
