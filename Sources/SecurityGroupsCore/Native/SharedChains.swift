/// VMs with the same rules share chains in the `ip` and `ip6` tables.
///
/// nf_tables checks the jump graph of a table at the commit of any
/// transaction that adds a rule, once per chain object reached: with a
/// chain of each kind per VM, one VM's rules change cost the kernel time in
/// proportion to every VM's rules (25 ms at 5,000 VMs); with the same 5,000
/// map elements jumping to one chain, about 1 ms (docs/nftables-backend.md).
///
/// A chain a port map sends packets to (a VM's default chain) becomes a
/// stub of one rule per map entry, `meta mark ID jump shared-…` or
/// `meta priority ID jump shared-…`. Each entry's chain is the original's
/// rules as they are for a packet of that port in that direction: a test
/// of the carrier the map looked up is known (true: the test goes; false:
/// the rule goes), and the other carrier never names the same port (a
/// bridge does not send a frame back out of the port it came in by). The
/// chains it jumps to are treated the same way, and every such chain is
/// named by its content (`shared-` and 16 hex digits of its text's
/// SHA-256), so VMs whose rules read the same jump to the same chains.
/// A test of one of the port's own addresses (a VM's link-local address in
/// its DHCPv6 rules) becomes a lookup of port and address in a set shared
/// the same way (`own-`…), where the port has that address in its
/// `port-addresses` set and no other in this rule's set. Chains only
/// those stubs reached are gone.
public enum SharedChains {
    public static let prefix = "shared-"

    public static func isShared(_ chain: String) -> Bool { chain.hasPrefix(prefix) }

    /// Sets of ports' own addresses made for shared chains (`own-`…).
    public static let ownAddressPrefix = "own-"

    public static func isOwnAddressSet(_ set: String) -> Bool { set.hasPrefix(ownAddressPrefix) }

    /// `table` with its port maps' chains made stubs of shared chains.
    static func share(_ table: NativeTable) -> NativeTable {
        var entries: [String: [Entry]] = [:]
        for set in table.sets where set.data == .verdict && set.name.hasPrefix("BF-") {
            let carrier: NativeKey
            if set.name.hasSuffix("-IN-ports") { carrier = .mark } else if set.name.hasSuffix("-OUT-ports") { carrier = .priority } else { continue }
            for element in set.elements {
                guard element.key.count == 1, case .number(let port) = element.key[0], case .jump(let chain)? = element.data else { continue }
                entries[chain, default: []].append(Entry(carrier: carrier, port: port))
            }
        }
        // A chain that a rule jumps to as well is left as it is.
        let jumpedTo = Set(table.chains.flatMap(\.jumpTargets))
        let present = Set(table.chains.map(\.name))
        entries = entries.filter { !jumpedTo.contains($0.key) && present.contains($0.key) }
        guard !entries.isEmpty else { return table }

        // A port's id is the same number in the mark and in the priority.
        let ownSets = [PortIDs.addressSetName(.source), PortIDs.addressSetName(.destination)]
        let own = Set(table.sets.filter { ownSets.contains($0.name) }.flatMap(\.elements).map(\.key))
        var builder = Builder(Dictionary(table.chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }), own: own,
                              addressType: table.family == .ip6 ? .ipv6Address : .ipv4Address)
        var stubs: [String: [[NativeStatement]]] = [:]
        for (chain, uses) in entries.sorted(by: { $0.key < $1.key }) {
            stubs[chain] = Set(uses).sorted().map { entry in
                [.carrier(entry.carrier, entry.port, inverted: false), .verdict(.jump(builder.shared(chain, entry)))]
            }
        }
        var shared = table
        shared.chains = table.chains.map { chain in
            guard let rules = stubs[chain.name] else { return chain }
            return NativeChain(name: chain.name, hook: chain.hook, rules: rules)
        }
        // The chains only stubs reached (a VM's rules) have no use left.
        while true {
            let referenced = Set(shared.sets.flatMap(\.elements).compactMap { if case .jump(let chain)? = $0.data { chain } else { nil } })
                .union(shared.chains.flatMap(\.jumpTargets))
            let unused = shared.chains.filter { builder.specialized.contains($0.name) && $0.hook == nil && !referenced.contains($0.name) }
            guard !unused.isEmpty else { break }
            let names = Set(unused.map(\.name))
            shared.chains.removeAll { names.contains($0.name) }
        }
        shared.chains += builder.made
        shared.sets.insert(contentsOf: builder.madeSets, at: 0)
        return shared
    }

    /// A packet's way into a chain: the carrier a port map looked up, and the port's id.
    private struct Entry: Hashable, Comparable {
        let carrier: NativeKey
        let port: UInt32

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.carrier == .mark ? 0 : 1, lhs.port) < (rhs.carrier == .mark ? 0 : 1, rhs.port)
        }
    }

    private struct Builder {
        let chains: [String: NativeChain]
        /// Each port's own addresses: `[id, address]`.
        let own: Set<[NativeValue]>
        let addressType: NativeType
        private(set) var made: [NativeChain] = []
        private(set) var madeSets: [NativeSet] = []
        /// The original chains made into shared ones.
        private(set) var specialized: Set<String> = []
        private var names: [Key: String] = [:]
        private var madeNames: Set<String> = []
        private var setIndex: [String: Int] = [:]
        /// The address each port has in each set made.
        private var addressOf: [SetPort: IPNetwork] = [:]

        private struct Key: Hashable {
            let chain: String
            let entry: Entry
        }

        private struct SetPort: Hashable {
            let set: String
            let port: UInt32
        }

        init(_ chains: [String: NativeChain], own: Set<[NativeValue]>, addressType: NativeType) {
            self.chains = chains
            self.own = own
            self.addressType = addressType
        }

        /// The name of `chain` as it is for packets of `entry`.
        mutating func shared(_ chain: String, _ entry: Entry) -> String {
            if let name = names[Key(chain: chain, entry: entry)] { return name }
            specialized.insert(chain)
            var rules: [[NativeStatement]] = []
            for rule in chains[chain]?.rules ?? [] {
                guard var kept = SharedChains.rule(rule, entry) else { continue }
                kept = ownAddressLookup(kept, entry)
                for index in kept.indices {
                    if case .verdict(.jump(let target)) = kept[index], let child = chains[target], child.hook == nil {
                        kept[index] = .verdict(.jump(shared(target, entry)))
                    }
                }
                rules.append(kept)
            }
            let name = SharedChains.prefix + SharedChains.name(rules.map(NativeText.rule).joined(separator: "\n"))
            names[Key(chain: chain, entry: entry)] = name
            if madeNames.insert(name).inserted { made.append(NativeChain(name: name, rules: rules)) }
            return name
        }

        /// `rule` with its one test of an address of the port's own as a
        /// lookup of port and address in a set of such pairs; as it is when
        /// there is none, or the set would hold another address of the port.
        private mutating func ownAddressLookup(_ rule: [NativeStatement], _ entry: Entry) -> [NativeStatement] {
            let tests = rule.indices.compactMap { index -> (Int, SetMatch.Direction, IPNetwork, Bool)? in
                guard case .address(let direction, let network, let inverted) = rule[index],
                      own.contains([.number(entry.port), .network(network)]) else { return nil }
                return (index, direction, network, inverted)
            }
            guard tests.count == 1, let (index, direction, network, inverted) = tests.first else { return rule }
            let keys = [entry.carrier, NativeKey.address(network.address.family, direction)]
            var shape = rule
            shape[index] = .lookup(keys, set: "", inverted: inverted)
            let name = SharedChains.ownAddressPrefix + SharedChains.name(NativeText.rule(shape))
            if let set = setIndex[name] {
                let key = SetPort(set: name, port: entry.port)
                guard addressOf[key] ?? network == network else { return rule }
                if addressOf.updateValue(network, forKey: key) == nil {
                    madeSets[set].elements.append(NativeElement([.number(entry.port), .network(network)]))
                }
            } else {
                setIndex[name] = madeSets.count
                addressOf[SetPort(set: name, port: entry.port)] = network
                madeSets.append(NativeSet(name: name, key: [entry.carrier.type, addressType], elements: [NativeElement([.number(entry.port), .network(network)])]))
            }
            shape[index] = .lookup(keys, set: name, inverted: inverted)
            return shape
        }
    }

    /// 16 hex digits of `text`'s SHA-256.
    private static func name(_ text: String) -> String {
        SHA256.digest(text.utf8).prefix(8).map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined()
    }

    /// A rule as it is for packets of `entry`; nil when it cannot match them.
    private static func rule(_ rule: [NativeStatement], _ entry: Entry) -> [NativeStatement]? {
        var kept: [NativeStatement] = []
        for statement in rule {
            if case .carrier(let key, let value, let inverted) = statement {
                if key == entry.carrier {
                    if (value == entry.port) != inverted { continue }
                    return nil
                }
                if value == entry.port {
                    // The other carrier: never the port the packet's way names.
                    guard inverted else { return nil }
                    continue
                }
            }
            kept.append(statement)
        }
        return kept
    }
}
