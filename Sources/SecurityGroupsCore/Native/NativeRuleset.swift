/// The `native` layout: the `notrack` layout's rules in three tables of our
/// own, `ip`, `ip6` and `bridge` `cloudstack_sg` (`NativeTable`), instead of the iptables, ip6tables and ebtables tables and
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
    /// `ip cloudstack_sg`, the `ip6` one and the `bridge` one.
    public let tables: [NativeTable]

    /// Translates a ruleset rendered in the `native` layout. Its ports take
    /// the ids `ports` gives (those the kernel holds, for some VMs), or
    /// 1, 2, … by name (the whole host). Consumed: each family's rules are
    /// let go of once translated (a whole host's peak memory).
    public init(_ ruleset: consuming Ruleset, ports given: PortIDs? = nil) throws(InputError) {
        ports = given ?? PortIDs(ports: Self.portNames(ruleset))
        let sets = ruleset.ipsets
        let ip = try Self.ipTable(.ipv4, ruleset.ipv4, sets, ports)
        ruleset.ipv4 = IPTablesFamily()
        let ip6 = try Self.ipTable(.ipv6, ruleset.ipv6, sets, ports)
        ruleset.ipv6 = IPTablesFamily()
        tables = [ip, ip6, try Self.bridgeTable(ruleset.ebtables, ports, counter: ruleset.scope == .host)]
    }

    /// Every bridge port the ruleset names: its VMs' and the bridges' uplinks.
    public static func portNames(_ ruleset: Ruleset) -> Set<String> {
        var names: Set<String> = []
        for family in [ruleset.ipv4, ruleset.ipv6] {
            for table in family.tables {
                for rules in Array(table.builtinRules.values) + Array(table.chains.values) {
                    for rule in rules {
                        for case .physdev(let physdev) in rule.matches { names.formUnion([physdev.inPort, physdev.outPort].compactMap { $0 }) }
                    }
                }
            }
        }
        for set in ruleset.ipsets { names.formUnion(set.members.compactMap(\.port)) }
        for rules in Array(ruleset.ebtables.builtinRules.values) + Array(ruleset.ebtables.chains.values) {
            for rule in rules { names.formUnion([rule.inInterface, rule.outInterface].compactMap { $0 }.filter { !$0.hasSuffix("+") }) }
        }
        return names
    }

    /// A base chain's rules for one port (`nat-PREROUTING-vnet0`).
    public static func portChain(_ chain: String, _ port: String) -> String { "\(chain)-\(port)" }

    /// The bridge table's one-element set holding the id the next new port
    /// takes: ids are never given twice, so an element some port left
    /// behind can never match another's packets.
    public static let nextPortIDSet = "next-port-id"

    /// The tables in nft's language (`nft -f` loads the same tables).
    public var text: String { tables.map(\.text).joined() }

    /// Sets, their elements, chains and their rules: what `apply` counts as changes.
    public var objectCount: Int {
        tables.reduce(0) { count, table in
            count + table.sets.reduce(table.sets.count) { $0 + $1.elements.count } + table.chains.reduce(table.chains.count) { $0 + $1.rules.count }
        }
    }

    // MARK: - ip and ip6

    private static func ipTable(_ family: AddressFamily, _ tables: IPTablesFamily, _ sets: [IPSet], _ ports: PortIDs) throws(InputError) -> NativeTable {
        var table = TableBuilder(family == .ipv4 ? .ip : .ip6)
        table.keyedByPort = keyedByPort(tables)
        for ipTable in tables.tables {
            for chain in ipTable.name.builtinChains {
                guard let rules = ipTable.builtinRules[chain], !rules.isEmpty else { continue }
                let name = "\(ipTable.name.rawValue)-\(chain)"
                try table.chain(name, hook: baseChainHook(ipTable.name, chain), rules: table.portChains(rules, in: name, family, ports))
            }
            for (name, rules) in ipTable.chains.sorted(by: { $0.key < $1.key }) {
                try table.chain(name, rules: table.rules(rules, in: name, family, ports))
            }
        }
        try table.addSets(sets.filter { $0.family == family }, ports)
        return SharedChains.share(table.table)
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
                    if let port = NativeRules.portLookup(rule) {
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

    /// iptables' hooks and priorities: filter 0, raw -300, nat -100 where
    /// packets arrive (PREROUTING, OUTPUT) and 100 where they leave.
    private static func baseChainHook(_ table: IPTable.Name, _ chain: String) -> NativeChain.Hook? {
        guard let point = NativeChain.Hook.Point(rawValue: chain.lowercased()) else { return nil }
        switch table {
        case .filter: return NativeChain.Hook(type: "filter", point: point, priority: 0)
        case .raw: return NativeChain.Hook(type: "filter", point: point, priority: -300)
        case .nat: return NativeChain.Hook(type: "nat", point: point, priority: [.prerouting, .output].contains(point) ? -100 : 100)
        }
    }

    // MARK: - bridge

    private static func bridgeTable(_ ebtables: EbtablesTable, _ ports: PortIDs, counter: Bool) throws(InputError) -> NativeTable {
        var table = TableBuilder(.bridge)
        let sorted = ports.ids.sorted { $0.key < $1.key }
        if counter {
            try table.add(NativeSet(name: nextPortIDSet, key: [.mark], elements: [NativeElement([.number((ports.ids.values.max() ?? 0) + 1)])]))
        }
        try table.add(NativeSet(name: "in-ports", key: [.interfaceName], data: .value(.mark),
                                elements: sorted.map { NativeElement([.interface($0.key)], data: .number($0.value)) }))
        try table.add(NativeSet(name: "out-ports", key: [.interfaceName], data: .value(.classID),
                                elements: sorted.map { NativeElement([.interface($0.key)], data: .number($0.value)) }))
        let prerouting = try table.rules(ebtables.builtinRules["PREROUTING"] ?? [], in: "PREROUTING")
        try table.chain("PREROUTING", hook: NativeChain.Hook(type: "filter", point: .prerouting, priority: -300),
                        rules: [[.setCarrier(.mark, from: .inInterface, map: "in-ports")]] + prerouting)
        // br_netfilter passes bridged IP packets to the ip families at
        // priority -1 of this hook and continues here after them.
        try table.chain("carry-out-port", hook: NativeChain.Hook(type: "filter", point: .forward, priority: -2),
                        rules: [[.setCarrier(.priority, from: .outInterface, map: "out-ports")]])
        try table.chain("reset-out-port", hook: NativeChain.Hook(type: "filter", point: .forward, priority: 100), rules: [[.clearPriority]])
        try table.chain("POSTROUTING", hook: NativeChain.Hook(type: "filter", point: .postrouting, priority: 300),
                        rules: table.rules(ebtables.builtinRules["POSTROUTING"] ?? [], in: "POSTROUTING"))
        for (name, rules) in ebtables.chains.sorted(by: { $0.key < $1.key }) {
            // An ebtables chain's policy applies when no rule decides.
            let policy: [[NativeStatement]] = EbtablesTable.policy(of: name) == "ACCEPT" ? [[.verdict(.accept)]] : []
            try table.chain(name, rules: table.rules(rules, in: name) + policy)
        }
        return table.table
    }
}

/// One table as it is built: sets and maps first, then chains.
private struct TableBuilder {
    private(set) var table: NativeTable
    /// The sets whose lookups go by port (`NativeRules.portLookup`): (port, set) by carrier.
    private var byPort: [SetMatch.Direction: Set<PortSet>] = [:]
    var keyedByPort: Set<String> = []

    private struct PortSet: Hashable {
        let port: String
        let set: String
    }

    init(_ family: NativeTable.Family) { table = NativeTable(family: family) }

    private var addressFamily: AddressFamily { table.family == .ip6 ? .ipv6 : .ipv4 }
    private var addressType: NativeType { table.family == .ip6 ? .ipv6Address : .ipv4Address }

    /// The family's sets the rules name, and the shared sets of addresses by
    /// port, filled from the sets whose lookups go by port.
    mutating func addSets(_ sets: [IPSet], _ ports: PortIDs) throws(InputError) {
        let byName = Dictionary(sets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for direction in [SetMatch.Direction.source, .destination] {
            guard let pairs = byPort[direction] else { continue }
            let elements = pairs.sorted { ($0.port, $0.set) < ($1.port, $1.set) }.flatMap { pair in
                (byName[pair.set]?.members ?? []).map { NativeElement([.number(ports.id(pair.port)), .network(Self.network($0))]) }
            }
            // A hash of exact keys while the members are addresses (they are: a
            // VM's own): nf_tables rebuilds a concatenation of ranges whole at
            // every commit that changes it, which made a VM's destroy grow with the host.
            try add(NativeSet(name: PortIDs.addressSetName(direction), key: [direction == .source ? .mark : .classID, addressType],
                              interval: Self.hasPrefix(elements), elements: elements))
        }
        // Every set, also those whose lookups all go by port: a VM's own
        // set then says which addresses it has in the shared ones (what a
        // command for the VM reads to take them out again). Those last: the
        // kernel finds a set by name walking its table's sets in the order
        // they were made, for every rule that names one.
        for set in sets where !keyedByPort.contains(set.name) { try add(set, ports) }
        for set in sets where keyedByPort.contains(set.name) { try add(set, ports) }
    }

    private mutating func add(_ set: IPSet, _ ports: PortIDs) throws(InputError) {
        switch set.type {
        case .hashIP:
            try add(NativeSet(name: set.name, key: [addressType], elements: set.members.map { NativeElement([.network(Self.network($0))]) }))
        case .hashNet where set.members.allSatisfy({ $0.prefixLength == nil }):
            // Addresses only (a VM's IPv6 addresses): kept one by one, as they were given.
            try add(NativeSet(name: set.name, key: [addressType], elements: set.members.map { NativeElement([.network(Self.network($0))]) }))
        case .hashNet:
            try add(NativeSet(name: set.name, key: [addressType], interval: true, autoMerge: true,
                              elements: set.members.map { NativeElement([.network(Self.network($0))]) }))
        case .hashNetIface:
            for port in [SetMatch.Direction.source, .destination] {
                let elements = set.members.map { NativeElement([.network(Self.network($0)), .number($0.port.map(ports.id) ?? PortIDs.none)]) }
                try add(NativeSet(name: PortIDs.setName(set.name, port), key: [addressType, port == .source ? .mark : .classID],
                                  interval: Self.hasPrefix(elements), elements: elements))
            }
        }
    }

    /// Whether an element's key holds a network rather than an address.
    private static func hasPrefix(_ elements: [NativeElement]) -> Bool {
        elements.contains { element in
            element.key.contains { if case .network(let network) = $0 { network.prefixLength < (network.address.family == .ipv4 ? 32 : 128) } else { false } }
        }
    }

    private static func network(_ member: IPSet.Member) -> IPNetwork {
        IPNetwork(member.address, prefixLength: member.prefixLength ?? (member.address.family == .ipv4 ? 32 : 128))
    }

    mutating func add(_ set: NativeSet) throws(InputError) {
        try Self.check(set.name)
        table.sets.append(set)
    }

    mutating func chain(_ name: String, hook: NativeChain.Hook? = nil, rules: [[NativeStatement]]) throws(InputError) {
        try Self.check(name)
        table.chains.append(NativeChain(name: name, hook: hook, rules: rules))
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
    mutating func rules(_ rules: [IPTablesRule], in chain: String, _ family: AddressFamily, _ ports: PortIDs) throws(InputError) -> [[NativeStatement]] {
        let jumps = rules.compactMap(Self.portJump)
        // A bridge's `-IN`/`-OUT` chain is its map even with no port in it
        // (a VM's command writes the chain without the other VMs' jumps).
        let dispatch = chain.hasPrefix("BF-") && (chain.hasSuffix("-IN") || chain.hasSuffix("-OUT"))
            ? IPTablesPortJump(port: "", isIn: chain.hasSuffix("-IN"), bridged: true, chain: "") : nil
        guard let first = jumps.first ?? (rules.isEmpty ? dispatch : nil), jumps.count == rules.count,
              jumps.allSatisfy({ $0.isIn == first.isIn && $0.bridged == first.bridged }) else {
            for rule in rules {
                for case .set(let set) in rule.matches {
                    if keyedByPort.contains(set.name), let port = NativeRules.portLookup(rule) {
                        byPort[port.direction, default: []].insert(PortSet(port: port.port, set: set.name))
                    }
                }
            }
            return rules.map { NativeRules.rule($0, family, ports: ports, keyedByPort: keyedByPort) }
        }
        let name = "\(chain)-ports"
        let key: NativeKey = first.isIn ? .mark : .priority
        try add(NativeSet(name: name, key: [key.type], data: .verdict,
                          elements: Self.firstPerPort(jumps).map { NativeElement([.number(ports.id($0.port))], data: .jump($0.chain)) }))
        return [(first.bridged ? [.carrier(.priority, 0, inverted: true)] : []) + [.verdictMap(key, map: name)]]
    }

    /// A base chain's rules; where each tests one in-port (the metadata
    /// redirect of `nat` PREROUTING), a verdict map to a chain per port
    /// (`<chain>-<port>`) instead, so a port's rules are its own chain.
    mutating func portChains(_ rules: [IPTablesRule], in chain: String, _ family: AddressFamily, _ ports: PortIDs) throws(InputError) -> [[NativeStatement]] {
        let byPort = rules.map { rule in NativeRules.portLookup(rule).flatMap { $0.direction == .source && !$0.port.hasSuffix("+") ? $0.port : nil } }
        guard !rules.isEmpty, byPort.allSatisfy({ $0 != nil }) else { return try self.rules(rules, in: chain, family, ports) }
        var order: [String] = []
        var grouped: [String: [IPTablesRule]] = [:]
        for (rule, port) in zip(rules, byPort.compactMap { $0 }) {
            if grouped[port] == nil { order.append(port) }
            grouped[port, default: []].append(rule)
        }
        let map = "\(chain)-ports"
        try add(NativeSet(name: map, key: [.mark], data: .verdict,
                          elements: order.map { NativeElement([.number(ports.id($0))], data: .jump(NativeRuleset.portChain(chain, $0))) }))
        for port in order {
            let name = NativeRuleset.portChain(chain, port)
            try self.chain(name, rules: try self.rules(grouped[port]!, in: name, family, ports))
        }
        return [[.verdictMap(.mark, map: map)]]
    }

    /// The same for an ebtables chain.
    mutating func rules(_ rules: [EbtablesRule], in chain: String) throws(InputError) -> [[NativeStatement]] {
        let jumps = rules.compactMap(Self.portJump)
        // PREROUTING and POSTROUTING are their maps even with no port in them.
        let dispatch = ["PREROUTING", "POSTROUTING"].contains(chain)
            ? EbtablesPortJump(port: "", isIn: chain == "PREROUTING", etherType: nil, chain: "") : nil
        guard let first = jumps.first ?? (rules.isEmpty ? dispatch : nil), jumps.count == rules.count,
              jumps.allSatisfy({ $0.isIn == first.isIn && $0.etherType == first.etherType }) else {
            return rules.map(NativeRules.rule)
        }
        let name = "\(chain)-ports"
        try add(NativeSet(name: name, key: [.interfaceName], data: .verdict,
                          elements: Self.firstPerPort(jumps).map { NativeElement([.interface($0.port)], data: .jump($0.chain)) }))
        let etherType: [NativeStatement] = first.etherType.map { [.etherType($0 == .arp ? 0x0806 : 0x0800)] } ?? []
        return [etherType + [.verdictMap(first.isIn ? .inInterface : .outInterface, map: name)]]
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
