/// The `native` layout: the `notrack` layout's rules in three tables of our
/// own, `ip`, `ip6` and `bridge` `cloudstack_sg` (nft's language, for
/// libnftables), instead of the iptables, ip6tables and ebtables tables and
/// ipset. Other tools' tables are never touched; `nft list table ip
/// cloudstack_sg` shows it.
///
/// What changes besides the place: ipsets become nft sets, and each run of
/// per-port jumps (a bridge's `-IN`/`-OUT` chains, ebtables' PREROUTING and
/// POSTROUTING) becomes one verdict-map lookup, so a packet's cost does not
/// grow with the number of VMs. The `ip` and `ip6` families see the bridge,
/// not its ports (br_netfilter): the `bridge` table carries the in-port's id
/// in the packet mark and the out-port's in its priority, before
/// br_netfilter hands the packet over, and sets the priority back to 0
/// after (`PortIDs`; docs/nftables-backend.md). No `NF_CONNTRACK_BRIDGE` is
/// needed: connection state stays in the `ip` families.
public struct NativeRuleset: Equatable, Sendable {
    public static let tableName = "cloudstack_sg"
    public static let families = ["ip", "ip6", "bridge"]
    /// Our tables as `HostWorld` names them: `ip cloudstack_sg`, ….
    public static let tableNames = families.map { "\($0) \(tableName)" }

    public let ports: PortIDs
    /// `table ip cloudstack_sg { … }`, the `ip6` one and the `bridge` one.
    public let tables: [String]

    /// Translates a ruleset rendered in the `native` layout for the whole host.
    public init(_ ruleset: Ruleset) throws(InputError) {
        var portNames: [String] = []
        for family in [ruleset.ipv4, ruleset.ipv6] {
            for table in family.tables {
                for rules in Array(table.builtinRules.values) + Array(table.chains.values) {
                    for rule in rules {
                        for case .physdev(let physdev) in rule.matches { portNames += [physdev.inPort, physdev.outPort].compactMap { $0 } }
                    }
                }
            }
        }
        portNames += ruleset.ipsets.flatMap { $0.members.compactMap(\.port) }
        ports = PortIDs(ports: portNames)
        let sets = ruleset.ipsets
        tables = [
            try Self.ipTable(.ipv4, ruleset.ipv4, sets, ports),
            try Self.ipTable(.ipv6, ruleset.ipv6, sets, ports),
            try Self.bridgeTable(ruleset.ebtables, ports),
        ]
    }

    /// One nft script that replaces our tables with these: one transaction,
    /// so packets meet either the old tables or the new ones.
    public var script: String { Self.removalScript + tables.joined() }

    /// Deletes our tables, whether or not they exist.
    public static var removalScript: String {
        families.map { "table \($0) \(tableName)\ndelete table \($0) \(tableName)\n" }.joined()
    }

    // MARK: - ip and ip6

    private static func ipTable(_ family: AddressFamily, _ tables: IPTablesFamily, _ sets: [IPSet], _ ports: PortIDs) throws(InputError) -> String {
        var table = TableText(family == .ipv4 ? "ip" : "ip6")
        table.keyedByPort = keyedByPort(tables)
        for ipTable in tables.tables {
            for chain in ipTable.name.builtinChains {
                guard let rules = ipTable.builtinRules[chain], !rules.isEmpty else { continue }
                let name = "\(ipTable.name.rawValue)-\(chain)"
                try table.chain(name, header: baseChainHeader(ipTable.name, chain), lines: table.lines(rules, in: name, family, ports))
            }
            for (name, rules) in ipTable.chains.sorted(by: { $0.key < $1.key }) {
                try table.chain(name, lines: table.lines(rules, in: name, family, ports))
            }
        }
        try table.addSets(sets.filter { $0.family == family }, ports)
        return table.text
    }

    /// The sets that become elements of the shared sets of addresses by
    /// port: those every rule tests on a port, where no other set is tested
    /// on that port in that direction (a VM's own address set), so keying
    /// by port keeps each lookup's meaning.
    private static func keyedByPort(_ tables: IPTablesFamily) -> Set<String> {
        var onPort: [String: Set<String>] = [:]
        var unported: Set<String> = []
        for table in tables.tables {
            for rule in Array(table.builtinRules.values.joined()) + Array(table.chains.values.joined()) {
                for case .set(let set) in rule.matches where set.portDirection == nil {
                    if let port = NFTRuleText.portLookup(rule) {
                        onPort["\(port.direction) \(port.port)", default: []].insert(set.name)
                    } else {
                        unported.insert(set.name)
                    }
                }
            }
        }
        let shared = onPort.values.filter { $0.count > 1 }.reduce(into: Set<String>()) { $0.formUnion($1) }
        return onPort.values.reduce(into: Set<String>()) { $0.formUnion($1) }.subtracting(shared).subtracting(unported)
    }

    private static func baseChainHeader(_ table: IPTable.Name, _ chain: String) -> String {
        let hook = chain.lowercased()
        switch table {
        case .filter: return "type filter hook \(hook) priority filter; policy accept;"
        case .raw: return "type filter hook \(hook) priority raw; policy accept;"
        case .nat:
            let priority = ["PREROUTING": "dstnat", "POSTROUTING": "srcnat", "OUTPUT": "-100", "INPUT": "100"][chain] ?? "dstnat"
            return "type nat hook \(hook) priority \(priority); policy accept;"
        }
    }

    // MARK: - bridge

    private static func bridgeTable(_ ebtables: EbtablesTable, _ ports: PortIDs) throws(InputError) -> String {
        var table = TableText("bridge")
        let sorted = ports.ids.sorted { $0.key < $1.key }
        try table.map("in-ports", type: "typeof iifname : meta mark",
                      elements: sorted.map { "\(NFTRuleText.interfaceName($0.key)) : \(PortIDs.markText($0.value))" })
        try table.map("out-ports", type: "typeof oifname : meta priority",
                      elements: sorted.map { "\(NFTRuleText.interfaceName($0.key)) : \(PortIDs.priorityText($0.value))" })
        let prerouting = try table.lines(ebtables.builtinRules["PREROUTING"] ?? [], in: "PREROUTING")
        try table.chain("PREROUTING", header: "type filter hook prerouting priority dstnat; policy accept;",
                        lines: ["meta mark set iifname map @in-ports"] + prerouting)
        // br_netfilter passes bridged IP packets to the ip families at
        // priority -1 of this hook and continues here after them.
        try table.chain("carry-out-port", header: "type filter hook forward priority -2; policy accept;",
                        lines: ["meta priority set oifname map @out-ports"])
        try table.chain("reset-out-port", header: "type filter hook forward priority 100; policy accept;",
                        lines: ["meta priority set none"])
        if let rules = ebtables.builtinRules["POSTROUTING"], !rules.isEmpty {
            try table.chain("POSTROUTING", header: "type filter hook postrouting priority srcnat; policy accept;",
                            lines: table.lines(rules, in: "POSTROUTING"))
        }
        for (name, rules) in ebtables.chains.sorted(by: { $0.key < $1.key }) {
            // An ebtables chain's policy applies when no rule decides.
            let policy = EbtablesTable.policy(of: name) == "ACCEPT" ? ["accept"] : []
            try table.chain(name, lines: table.lines(rules, in: name) + policy)
        }
        return table.text
    }
}

/// One table's text as it is built: sets and maps first, then chains.
private struct TableText {
    let family: String
    private var objects: [String] = []
    private var chains: [String] = []
    /// Sets the rules name directly, and the sets whose lookups go by port
    /// (`NFTRuleText.portLookup`): (port, set) by carrier.
    private var named: Set<String> = []
    private var byPort: [SetMatch.Direction: Set<PortSet>] = [:]
    var keyedByPort: Set<String> = []

    private struct PortSet: Hashable {
        let port: String
        let set: String
    }

    init(_ family: String) { self.family = family }

    var text: String {
        "table \(family) \(NativeRuleset.tableName) {\n" + (objects + chains).joined(separator: "\n") + "}\n"
    }

    /// The family's sets the rules name, and the shared sets of addresses by
    /// port, filled from the sets whose lookups go by port.
    mutating func addSets(_ sets: [IPSet], _ ports: PortIDs) throws(InputError) {
        let byName = Dictionary(sets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for set in sets where named.contains(set.name) || !byPort.values.contains(where: { $0.contains { $0.set == set.name } }) {
            try add(set, ports)
        }
        for direction in [SetMatch.Direction.source, .destination] {
            guard let pairs = byPort[direction] else { continue }
            let (key, carrier) = direction == .source ? ("meta mark . \(family) saddr", PortIDs.markText) : ("meta priority . \(family) daddr", PortIDs.priorityText)
            let elements = pairs.sorted { ($0.port, $0.set) < ($1.port, $1.set) }.flatMap { pair in
                (byName[pair.set]?.members ?? []).map { "\(carrier(ports.id(pair.port))) . \($0)" }
            }
            try object("set", PortIDs.addressSetName(direction), ["typeof \(key)", "flags interval"], elements: elements)
        }
    }

    private mutating func add(_ set: IPSet, _ ports: PortIDs) throws(InputError) {
        let address = set.family == .ipv4 ? "ipv4_addr" : "ipv6_addr"
        switch set.type {
        case .hashIP:
            try object("set", set.name, ["type \(address)"], elements: set.members.map(\.description))
        case .hashNet:
            try object("set", set.name, ["type \(address)", "flags interval", "auto-merge"], elements: set.members.map(\.description))
        case .hashNetIface:
            let ip = set.family == .ipv4 ? "ip" : "ip6"
            for port in [SetMatch.Direction.source, .destination] {
                let (key, carrier) = port == .source ? ("\(ip) saddr . meta mark", PortIDs.markText) : ("\(ip) daddr . meta priority", PortIDs.priorityText)
                let elements = set.members.map { member in
                    var address = member
                    address.port = nil
                    return "\(address) . \(carrier(member.port.map(ports.id) ?? PortIDs.none))"
                }
                try object("set", PortIDs.setName(set.name, port), ["typeof \(key)", "flags interval"], elements: elements)
            }
        }
    }

    mutating func map(_ name: String, type: String, elements: [String]) throws(InputError) {
        try object("map", name, [type], elements: elements)
    }

    mutating func chain(_ name: String, header: String? = nil, lines: [String]) throws(InputError) {
        try Self.check(name)
        chains.append("\tchain \(name) {\n" + ([header].compactMap { $0 } + lines).map { "\t\t\($0)\n" }.joined() + "\t}\n")
    }

    private mutating func object(_ kind: String, _ name: String, _ properties: [String], elements: [String]) throws(InputError) {
        try Self.check(name)
        var lines = properties
        if !elements.isEmpty { lines.append("elements = { " + elements.joined(separator: ", ") + " }") }
        objects.append("\t\(kind) \(name) {\n" + lines.map { "\t\t\($0)\n" }.joined() + "\t}\n")
    }

    /// nft takes a table's object names as bare words.
    private static func check(_ name: String) throws(InputError) {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_",
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "_./-".unicodeScalars.contains($0)) })
        else {
            throw InputError(field: "nft object name", value: name, reason: "must be a letter or _ followed by letters, digits, _ . / -")
        }
    }

    // MARK: rules

    /// An iptables chain's rules: one verdict map lookup when they are all
    /// jumps by port in one direction (the per-port dispatch), else each rule.
    mutating func lines(_ rules: [IPTablesRule], in chain: String, _ family: AddressFamily, _ ports: PortIDs) throws(InputError) -> [String] {
        let jumps = rules.compactMap(Self.portJump)
        guard let first = jumps.first, jumps.count == rules.count,
              jumps.allSatisfy({ $0.isIn == first.isIn && $0.bridged == first.bridged }) else {
            for rule in rules {
                for case .set(let set) in rule.matches {
                    if keyedByPort.contains(set.name), let port = NFTRuleText.portLookup(rule) {
                        byPort[port.direction, default: []].insert(PortSet(port: port.port, set: set.name))
                    } else {
                        named.insert(set.name)
                    }
                }
            }
            return rules.map { NFTRuleText.rule($0, family, ports: ports, keyedByPort: keyedByPort) }
        }
        let name = "\(chain)-ports"
        try map(name, type: first.isIn ? "typeof meta mark : verdict" : "typeof meta priority : verdict",
                elements: Self.firstPerPort(jumps).map { "\($0.isIn ? ports.mark($0.port) : ports.priority($0.port)) : jump \($0.chain)" })
        return [(first.bridged ? "meta priority != none " : "") + (first.isIn ? "meta mark" : "meta priority") + " vmap @\(name)"]
    }

    /// The same for an ebtables chain.
    mutating func lines(_ rules: [EbtablesRule], in chain: String) throws(InputError) -> [String] {
        let jumps = rules.compactMap(Self.portJump)
        guard let first = jumps.first, jumps.count == rules.count,
              jumps.allSatisfy({ $0.isIn == first.isIn && $0.etherType == first.etherType }) else {
            return rules.map(NFTRuleText.rule)
        }
        let name = "\(chain)-ports"
        try map(name, type: first.isIn ? "typeof iifname : verdict" : "typeof oifname : verdict",
                elements: Self.firstPerPort(jumps).map { "\(NFTRuleText.interfaceName($0.port)) : jump \($0.chain)" })
        let etherType = first.etherType.map { $0 == .arp ? "ether type arp " : "ether type ip " } ?? ""
        return [etherType + (first.isIn ? "iifname" : "oifname") + " vmap @\(name)"]
    }

    /// A port's first jump: the one the rules would take.
    private static func firstPerPort<J>(_ jumps: [J]) -> [J] where J: PortJump {
        var seen: Set<String> = []
        return jumps.filter { seen.insert($0.port).inserted }
    }

    /// `-m physdev --physdev-in|out PORT [--physdev-is-bridged] -j CHAIN` and nothing else.
    private static func portJump(_ rule: IPTablesRule) -> IPTablesPortJump? {
        guard case .jump(let chain) = rule.target, rule.matches.count == 1, case .physdev(let physdev) = rule.matches[0],
              rule == IPTablesRule(matches: rule.matches, target: rule.target), !physdev.isIn, !physdev.isOut,
              (physdev.inPort == nil) != (physdev.outPort == nil), let port = physdev.inPort ?? physdev.outPort, !port.hasSuffix("+")
        else { return nil }
        return IPTablesPortJump(port: port, isIn: physdev.inPort != nil, bridged: physdev.isBridged, chain: chain)
    }

    /// `[-p TYPE] -i|-o PORT -j CHAIN` and nothing else.
    private static func portJump(_ rule: EbtablesRule) -> EbtablesPortJump? {
        guard case .jump(let chain) = rule.target, (rule.inInterface == nil) != (rule.outInterface == nil),
              let port = rule.inInterface ?? rule.outInterface, !port.hasSuffix("+"),
              rule == EbtablesRule(etherType: rule.etherType, inInterface: rule.inInterface, outInterface: rule.outInterface, target: rule.target)
        else { return nil }
        return EbtablesPortJump(port: port, isIn: rule.inInterface != nil, etherType: rule.etherType, chain: chain)
    }
}

/// A rule that only sends a packet of one port to that port's chain.
private protocol PortJump {
    var port: String { get }
}

private struct IPTablesPortJump: PortJump {
    let port: String
    let isIn: Bool
    let bridged: Bool
    let chain: String
}

private struct EbtablesPortJump: PortJump {
    let port: String
    let isIn: Bool
    let etherType: EbtablesRule.EtherType?
    let chain: String
}
