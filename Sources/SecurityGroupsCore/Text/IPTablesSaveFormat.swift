/// The iptables-save text of rules and tables, as `iptables-legacy-save`
/// 1.8.9 prints them (without counters and comment lines).
public enum IPTablesSaveFormat {
    /// Every table of one family as it would be on a host holding only our
    /// rules: built-in chains with policy ACCEPT, user chains sorted by name.
    public static func text(_ family: IPTablesFamily) -> String {
        family.tables.map(text).joined()
    }

    public static func text(_ table: IPTable) -> String {
        var out = "*\(table.name.rawValue)\n"
        let userChains = table.chains.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for chain in table.name.builtinChains { out += ":\(chain) ACCEPT [0:0]\n" }
        for chain in userChains { out += ":\(chain) - [0:0]\n" }
        for chain in table.name.builtinChains {
            for rule in table.builtinRules[chain] ?? [] { write(rule, chain: chain, to: &out) }
        }
        for chain in userChains {
            for rule in table.chains[chain] ?? [] { write(rule, chain: chain, to: &out) }
        }
        return out + "COMMIT\n"
    }

    /// One rule as `-A CHAIN ...`.
    public static func line(_ rule: IPTablesRule, chain: String) -> String {
        var out = ""
        write(rule, chain: chain, to: &out)
        return String(out.dropLast())
    }

    /// Appends one rule line, newline included.
    static func write(_ rule: IPTablesRule, chain: String, to out: inout String) {
        out += "-A "
        out += chain
        if let source = rule.source {
            out += rule.sourceInverted ? " ! -s " : " -s "
            out += source.description
        }
        if let destination = rule.destination {
            out += rule.destinationInverted ? " ! -d " : " -d "
            out += destination.description
        }
        if let inInterface = rule.inInterface { out += " -i " + inInterface }
        if let outInterface = rule.outInterface { out += " -o " + outInterface }
        if let number = rule.ipProtocol { out += " -p " + ProtocolNames.name(number) }
        for match in rule.matches {
            for word in matchWords(match) {
                out += " "
                out += word
            }
        }
        for word in targetWords(rule.target) {
            out += " "
            out += word
        }
        out += "\n"
    }

    private static func matchWords(_ match: Match) -> [String] {
        switch match {
        case .physdev(let physdev):
            var words = ["-m", "physdev"]
            if let port = physdev.inPort { words += ["--physdev-in", port] }
            if physdev.isIn { words.append("--physdev-is-in") }
            if let port = physdev.outPort { words += ["--physdev-out", port] }
            if physdev.isOut { words.append("--physdev-is-out") }
            if physdev.isBridged { words.append("--physdev-is-bridged") }
            return words
        case .tcp(let ports):
            return ["-m", "tcp"] + portWords(ports)
        case .udp(let ports):
            return ["-m", "udp"] + portWords(ports)
        case .icmp(let type, let codes):
            if type == 255, codes == 0...255 { return ["-m", "icmp", "--icmp-type", "any"] }
            return ["-m", "icmp", "--icmp-type", icmpType(type, codes)]
        case .icmp6(let type, let codes):
            return ["-m", "icmp6", "--icmpv6-type", icmpType(type, codes)]
        case .state(let states):
            return ["-m", "state", "--state", stateNames(states)]
        case .set(let set):
            return ["-m", "set"] + (set.inverted ? ["!"] : []) + ["--match-set", set.name, set.flagsText]
        case .hopLimitEquals(let value):
            return ["-m", "hl", "--hl-eq", String(value)]
        case .destinationIsLocal(let inverted):
            return ["-m", "addrtype"] + (inverted ? ["!"] : []) + ["--dst-type", "LOCAL"]
        }
    }

    private static func portWords(_ ports: PortMatch) -> [String] {
        func range(_ r: ClosedRange<UInt16>) -> String {
            r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound):\(r.upperBound)"
        }
        var words: [String] = []
        if ports.sourcePorts != PortMatch.anyPort { words += ["--sport", range(ports.sourcePorts)] }
        if ports.destinationPorts != PortMatch.anyPort { words += ["--dport", range(ports.destinationPorts)] }
        return words
    }

    private static func icmpType(_ type: UInt8, _ codes: ClosedRange<UInt8>) -> String {
        if codes == 0...255 { return "\(type)" }
        if codes.lowerBound == codes.upperBound { return "\(type)/\(codes.lowerBound)" }
        return "\(type)/\(codes.lowerBound)-\(codes.upperBound)"
    }

    private static func stateNames(_ states: ConnectionStates) -> String {
        let names: [(ConnectionStates, String)] = [
            (.invalid, "INVALID"), (.new, "NEW"), (.related, "RELATED"), (.established, "ESTABLISHED"), (.untracked, "UNTRACKED"),
        ]
        return names.filter { states.contains($0.0) }.map(\.1).joined(separator: ",")
    }

    private static func targetWords(_ target: Target) -> [String] {
        switch target {
        case .accept: ["-j", "ACCEPT"]
        case .drop: ["-j", "DROP"]
        case .return: ["-j", "RETURN"]
        case .jump(let chain): ["-j", chain]
        case .dnat(let address, let port): ["-j", "DNAT", "--to-destination", "\(address):\(port)"]
        case .notrack: ["-j", "CT", "--notrack"]
        }
    }
}
