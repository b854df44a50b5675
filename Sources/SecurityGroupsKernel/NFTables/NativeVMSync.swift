import SecurityGroupsCore

/// A command for some VMs in the `native` layout: their share of our three
/// tables changed in one nf_tables transaction, reading only what the
/// scope needs (elements by key, chains and sets by name, the VMs' own
/// chains' rules and sets' elements).
///
/// Only what differs is written: a chain whose rules read back as the ones
/// wanted, a set holding the elements wanted, an element already there are
/// left alone. That matters beyond the bytes: nf_tables checks the whole
/// table's jump graph (every VM's chains) at the commit of any transaction
/// that adds a rule or a verdict-map element, and the check costs more the
/// more the transaction holds (docs/nftables-backend.md).
///
/// - The VMs' chains are flushed and filled again when they differ, made,
///   or deleted; their own sets (the record of their addresses, their peer
///   sets) refilled when they differ, made, or deleted.
/// - Their ports keep their ids; a new port, or the port of a VM new here,
///   takes the next one (`next-port-id`: ids are never given twice, so an
///   element a port left behind can never match another VM's packets).
/// - Their elements in the shared sets and maps are found by key (their
///   ports' names and ids, their old addresses from their own sets) and
///   deleted unless wanted as they are.
/// - The framework (base chains, the bridges' chains, shared sets and maps)
///   is made when missing and its chains written when they differ; other
///   VMs' elements are not touched.
enum NativeVMSync {
    typealias Message = NetfilterNetlink.Message

    struct Result {
        var messages: [Message] = []
        /// Flows whose addresses join the notrack sets (their conntrack entries go stale).
        var untracked = UntrackedFlows()
        /// Reading and planning, then the transaction (sent to acknowledged: the kernel's work).
        var timings: [(phase: String, seconds: Double)] = []
    }

    /// Brings the VMs of `ruleset.scope` to `ruleset` (rendered in `native`).
    static func sync(_ ruleset: Ruleset, dryRun: Bool) throws(NetfilterError) -> Result {
        guard case .vms(let selection) = ruleset.scope else {
            preconditionFailure("a VM scope only: a whole host is loaded by NativeTables.replace")
        }
        var attempts = 0
        var clock = PhaseClock()
        while true {
            let generation = try NFTablesRules.generation()
            var result = try plan(ruleset, selection)
            result.timings.append(("native read and plan", clock.lap()))
            guard !dryRun else { return result }
            do {
                let socket = try NetfilterNetlink(subject: "nf_tables")
                clock.lap()
                try socket.transact(result.messages, generation: generation)
                result.timings.append(("nf_tables transaction (\(result.messages.count) messages)", clock.lap()))
                return result
            } catch where error.errno == 85 && attempts < 20 {                       // ERESTART: changed since read
                attempts += 1
            }
        }
    }

    private static func plan(_ ruleset: Ruleset, _ selection: VMSelection) throws(NetfilterError) -> Result {
        let reads = try NativeReads()
        let bridge = NFTablesChains.bridge
        let portNames = NativeRuleset.portNames(ruleset)
        // Ids: a port keeps its id, unless its VM is new here (no default
        // chain yet): a vif name libvirt gives again must not inherit what a
        // VM before it left keyed by that id. A new port takes the next id.
        var old: [String: UInt32] = [:]
        for port in portNames.union(selection.vifs) {
            if let value = try reads.element(family: bridge, set: "in-ports", key: interfaceKey(port)), value.count == 4 {
                old[port] = hostNumber(value)
            }
        }
        let counter = try reads.elements(family: bridge, set: NativeRuleset.nextPortIDSet)?.first.map { hostNumber($0.key) }
        var next: UInt32 = 1
        if let counter {
            next = counter
        } else if let highest = try reads.elements(family: bridge, set: "in-ports")?.compactMap({ $0.data.map(hostNumber) }).max() {
            next = highest + 1
        }
        let entries = ruleset.ipv4.filter.chains.filter { $0.key.hasPrefix("BF-") && $0.key.hasSuffix("-IN") }.values.joined()
            .compactMap { rule -> (port: String, chain: String)? in
                guard case .jump(let chain) = rule.target else { return nil }
                for case .physdev(let physdev) in rule.matches { if let port = physdev.inPort { return (port, chain) } }
                return nil
            }
        let programmed = try NFTablesChains.existing(entries.map(\.chain), family: NFTablesChains.ipv4, table: NativeRuleset.tableName)
        let newVMsPorts = Set(entries.filter { !programmed.contains($0.chain) }.map(\.port))
        var ids: [String: UInt32] = [:]
        for port in portNames.sorted() {
            if let id = old[port], !newVMsPorts.contains(port) {
                ids[port] = id
            } else {
                ids[port] = next
                next += 1
            }
        }
        let native: NativeRuleset
        do {
            native = try NativeRuleset(ruleset, ports: PortIDs(ids: ids))
        } catch {
            throw NetfilterError(operation: "native layout", object: error.field, reason: "\(error.value): \(error.reason)")
        }
        let oldIDs = selection.vifs.compactMap { old[$0] }

        var deletions: [Message] = []
        var flushes: [Message] = []
        var setRemovals: [Message] = []
        var chainRemovals: [Message] = []
        var additions: [Message] = []
        var rules: [Message] = []
        var tables: [Message] = []
        var untracked = UntrackedFlows()
        for table in native.tables {
            let family = NativeMessages.family(table.family)
            let name = NFTablesMessages.string(1, NativeRuleset.tableName)
            tables.append((NFTablesMessages.newTable, NFTablesMessages.create, family, name, "table \(table.family.rawValue) \(NativeRuleset.tableName)"))
            let ownsSet = { (set: String) in selection.sets.contains(set) || selection.ownsPeerSet(set) }
            let ownsChain = { (chain: String) in
                selection.chains.contains(chain) || selection.ebtablesChains.contains(chain)
                    || selection.vifs.contains { NativeRuleset.portChain("nat-PREROUTING", $0) == chain }
            }

            // Chains: the VMs' (as they may have been named) and the table's, with their rules.
            let candidates = table.family == .bridge ? Set(selection.ebtablesChains)
                : selection.chains.union(selection.vifs.map { NativeRuleset.portChain("nat-PREROUTING", $0) })
            let existing = try NFTablesChains.existing(Array(candidates.union(table.chains.map(\.name))), family: family,
                                                       table: NativeRuleset.tableName)
            var kernelRules: [String: [[NFTablesRules.Expression]]] = [:]
            for chain in existing {
                kernelRules[chain] = try NFTablesRules.list(family: family, table: NativeRuleset.tableName, chain: chain).map(\.expressions)
            }

            // The sets that may exist: the table's, the VMs' own, and the
            // peer sets their rules name (only the kernel knows those). The
            // shared sets of addresses by port and the metadata redirect's map
            // are not in the table when none of its VMs uses them.
            var names = Set(table.sets.map(\.name)).union(selection.sets)
                .union([NativeRuleset.nextPortIDSet, PortIDs.addressSetName(.source), PortIDs.addressSetName(.destination), "nat-PREROUTING-ports"])
            // The VMs' peer sets and the sets of ports' own addresses (where
            // their elements are) that their chains, and the shared chains
            // those jump to, look up.
            var pending = kernelRules.keys.filter(ownsChain)
            var reached = Set(pending)
            while let chain = pending.popLast() {
                for expression in (kernelRules[chain] ?? []).joined() {
                    if case .lookup(let set, _, _, _) = expression, SharedChains.isOwnAddressSet(set) || selection.ownsPeerSet(set) { names.insert(set) }
                    guard case .verdict(_, let target?) = expression, SharedChains.isShared(target), reached.insert(target).inserted else { continue }
                    if kernelRules[target] == nil {
                        kernelRules[target] = try NFTablesRules.list(family: family, table: NativeRuleset.tableName, chain: target).map(\.expressions)
                    }
                    pending.append(target)
                }
            }
            // A chain to delete may be jumped to from the map of a bridge this
            // run does not render (a VM nothing recorded): every port map is asked.
            if existing.contains(where: { ownsChain($0) && !table.chains.map(\.name).contains($0) }) {
                names.formUnion(try reads.setNames(family: family).filter { $0.hasSuffix("-ports") })
            }
            var kernelSets: [String: NativeReads.SetInfo] = [:]
            for set in names.sorted() {
                if let info = try reads.set(family: family, name: set) { kernelSets[set] = info }
            }
            // The VMs' own sets as they are: their old addresses, and whether they differ.
            var oldAddresses: Set<[UInt8]> = []
            var ownElements: [String: Set<[UInt8]>] = [:]
            for set in kernelSets.values where ownsSet(set.name) {
                let elements = try reads.elements(family: family, set: set.name) ?? []
                ownElements[set.name] = Set(elements.map { identity($0.key, nil, $0.data ?? []) })
                if selection.sets.contains(set.name), !set.interval { oldAddresses.formUnion(elements.map(\.key)) }
            }

            // Their elements in the shared sets and maps, found by key.
            let wanted = Dictionary(table.sets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            func encoded(_ set: NativeSet) -> Set<[UInt8]> {
                Set(set.elements.map { element in
                    let keys = NativeSetMessages.keys(element, set)
                    return identity(keys.key, keys.last, keys.data ?? [])
                })
            }
            var present: [String: Set<[UInt8]>] = [:]
            for set in kernelSets.values where !ownsSet(set.name) && set.name != NativeRuleset.nextPortIDSet && set.name != NetfilterNames.metadataSet {
                let keep = wanted[set.name].map(encoded) ?? []
                var found: [(key: [UInt8], last: [UInt8]?)] = []
                for key in candidateKeys(set, vifs: selection.vifs, ids: oldIDs, addresses: oldAddresses) {
                    guard let value = try reads.element(family: family, set: set.name, key: key.key, last: key.last) else { continue }
                    let element = identity(key.key, key.last, value)
                    if keep.contains(element) {
                        present[set.name, default: []].insert(element)
                    } else {
                        found.append(key)
                    }
                }
                deletions += NativeSetMessages.deletion(set: set.name, keys: found, family: family)
            }

            // Chains: written when their rules differ, made, or deleted.
            var compiled: [String: [[NFTablesRules.Expression]]] = [:]
            var compiler = RuleCompiler(table)
            for chain in table.chains {
                compiled[chain.name] = chain.rules.map { compiler.expressions(of: $0) }
            }
            let desired = Set(table.chains.map(\.name))
            let changed = Set(table.chains.map(\.name).filter { existing.contains($0) && kernelRules[$0] != compiled[$0] })
            var removed = existing.filter { ownsChain($0) && !desired.contains($0) }
            removed.formUnion(try unusedSharedChains(flushed: changed.union(removed), rules: kernelRules, desired: desired, family: family))
            for chain in changed.union(removed).sorted() {
                flushes.append((NFTablesMessages.deleteRule, 0, family, name + NFTablesMessages.string(2, chain), "rules of chain \(chain)"))
            }
            for chain in removed.sorted() {
                chainRemovals.append((NFTablesMessages.deleteChain, 0, family, name + NFTablesMessages.string(3, chain), "chain \(chain)"))
            }
            for chain in table.chains where !existing.contains(chain.name) {
                additions.append(NativeMessages.chain(chain, family: family))
            }
            rules += NativeMessages.rules(table) { !existing.contains($0) || changed.contains($0) }

            // Sets: the VMs' own refilled when they differ; the shared ones
            // made when missing, given the elements they lack.
            for set in kernelSets.values where ownsSet(set.name) && wanted[set.name] == nil {
                setRemovals.append((NFTablesMessages.deleteSet, 0, family, name + NFTablesMessages.string(2, set.name), "set \(set.name)"))
            }
            for (index, set) in table.sets.enumerated() {
                let id = UInt32(index + 1)
                guard let kernel = kernelSets[set.name] else {
                    additions.append(NativeSetMessages.definition(set, id: id, family: family))
                    additions += NativeSetMessages.elements(set, id: id, family: family)
                    continue
                }
                if ownsSet(set.name) {
                    guard kernel.interval || ownElements[set.name] != encoded(set) else { continue }
                    // Flushed (NFT_MSG_DELSETELEM without elements) and filled again.
                    deletions.append((NFTablesMessages.deleteSetElement, 0, family, name + NFTablesMessages.string(2, set.name), "elements of \(set.name)"))
                    additions += NativeSetMessages.elements(set, id: id, family: family)
                } else {
                    var missing = set
                    missing.elements = set.elements.filter { element in
                        let keys = NativeSetMessages.keys(element, set)
                        return !(present[set.name]?.contains(identity(keys.key, keys.last, keys.data ?? [])) ?? false)
                    }
                    // Looked up by key where the kernel may hold them already.
                    var lacking: [NativeElement] = []
                    for element in missing.elements {
                        let keys = NativeSetMessages.keys(element, set)
                        let value = try reads.element(family: family, set: set.name, key: keys.key, last: keys.last)
                        if value != (keys.data ?? []) || set.interval && set.key.count == 1 { lacking.append(element) }
                    }
                    missing.elements = lacking
                    additions += NativeSetMessages.elements(missing, id: id, family: family)
                }
            }
            if table.family == .bridge, next != counter {
                let set = NativeSet(name: NativeRuleset.nextPortIDSet, key: [.mark], elements: [NativeElement([.number(next)])])
                if let counter {
                    deletions += NativeSetMessages.deletion(set: set.name, keys: [(RuleCompiler.host(counter), nil)], family: family)
                } else {
                    additions.append(NativeSetMessages.definition(set, id: UInt32(table.sets.count + 1), family: family))
                }
                additions += NativeSetMessages.elements(set, id: UInt32(table.sets.count + 1), family: family)
            }
            if table.family != .bridge { try addUntracked(&untracked, table, reads) }
        }
        untracked.trackedPeers.subtract(untracked.addresses)
        return Result(messages: tables + deletions + flushes + setRemovals + chainRemovals + additions + rules, untracked: untracked)
    }

    /// The VMs' addresses that join the family's notrack set (not in the
    /// kernel's yet), and the peers whose flows stay tracked (`UntrackedFlows`).
    private static func addUntracked(_ flows: inout UntrackedFlows, _ table: NativeTable, _ reads: NativeReads) throws(NetfilterError) {
        let family = table.family == .ip ? AddressFamily.ipv4 : .ipv6
        let number = NativeMessages.family(table.family)
        func addresses(_ set: NativeSet?) -> [IPAddress] {
            (set?.elements ?? []).compactMap { if case .network(let network)? = $0.key.first { network.address } else { nil } }
        }
        let notrack = table.sets.first { $0.name == NetfilterNames.notrackSet(family) }
        var joining: [IPAddress] = []
        for address in addresses(notrack) where try reads.element(family: number, set: notrack!.name, key: address.networkBytes) == nil {
            joining.append(address)
        }
        guard !joining.isEmpty else { return }
        flows.addresses.formUnion(joining)
        let tracked = NetfilterNames.trackedSet(family)
        flows.trackedPeers.formUnion(addresses(table.sets.first { $0.name == tracked }))
        for element in try reads.elements(family: number, set: tracked) ?? [] {
            flows.trackedPeers.insert(IPAddress(networkBytes: element.key[...]))
        }
    }

    /// The chains shared by content (`SharedChains`) that nothing jumps to
    /// once the `flushed` chains lose their rules. A chain's use count in
    /// the kernel, less its own rules, is what jumps to it; a chain is
    /// unused when the flushed chains' rules (and those of chains found
    /// unused) made all of them.
    private static func unusedSharedChains(flushed: Set<String>, rules known: [String: [[NFTablesRules.Expression]]],
                                           desired: Set<String>, family: UInt8) throws(NetfilterError) -> [String] {
        var rules = known
        var released: [String: Int] = [:]
        var pending: Set<String> = []
        func release(_ chain: String) {
            for expression in (rules[chain] ?? []).joined() {
                guard case .verdict(_, let target?) = expression, SharedChains.isShared(target), !desired.contains(target) else { continue }
                released[target, default: 0] += 1
                pending.insert(target)
            }
        }
        flushed.forEach(release)
        var unused: [String] = []
        var uses: [String: UInt32] = [:]
        var asked: Set<String> = []
        while let chain = pending.min() {
            // The use counts of every chain found so far, in one round of requests.
            if !asked.contains(chain) {
                uses.merge(try NFTablesChains.uses(Array(pending.subtracting(asked)), family: family, table: NativeRuleset.tableName)) { $1 }
                asked.formUnion(pending)
            }
            pending.remove(chain)
            guard !unused.contains(chain), let use = uses[chain] else { continue }
            if rules[chain] == nil {
                rules[chain] = try NFTablesRules.list(family: family, table: NativeRuleset.tableName, chain: chain).map(\.expressions)
            }
            guard Int(use) - (rules[chain]?.count ?? 0) <= released[chain, default: 0] else { continue }
            unused.append(chain)
            release(chain)
        }
        return unused
    }

    /// Keys an element of these VMs may have in a shared set, by the set's
    /// key: their ports' names, their ports' old ids, their old addresses.
    private static func candidateKeys(_ set: NativeReads.SetInfo, vifs: Set<String>, ids: [UInt32],
                                      addresses: Set<[UInt8]>) -> [(key: [UInt8], last: [UInt8]?)] {
        let concatenated = set.key.count > 1
        func number(_ id: UInt32) -> [UInt8] { concatenated && set.interval ? withUnsafeBytes(of: id.bigEndian) { Array($0) } : RuleCompiler.host(id) }
        func fits(_ address: [UInt8], _ type: NativeType) -> Bool { address.count == (type == .ipv4Address ? 4 : 16) }
        var keys: [[UInt8]] = [[]]
        for type in set.key {
            switch type {
            case .interfaceName: keys = keys.flatMap { key in vifs.sorted().map { key + interfaceKey($0) } }
            case .mark, .classID: keys = keys.flatMap { key in ids.map { key + number($0) } }
            case .ipv4Address, .ipv6Address: keys = keys.flatMap { key in addresses.filter { fits($0, type) }.sorted { $0.lexicographicallyPrecedes($1) }.map { key + $0 } }
            }
        }
        return keys.filter { !$0.isEmpty }.map { ($0, concatenated && set.interval ? $0 : nil) }
    }

    /// An element as one value to compare: its key, last key and value.
    private static func identity(_ key: [UInt8], _ last: [UInt8]?, _ value: [UInt8]) -> [UInt8] {
        key + (last ?? []) + [0xff] + value
    }

    /// A port's name as a key: padded to `IFNAMSIZ`.
    static func interfaceKey(_ name: String) -> [UInt8] {
        let bytes = Array(name.utf8.prefix(15))
        return bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
    }

    private static func hostNumber(_ bytes: [UInt8]) -> UInt32 {
        bytes.count == 4 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0
    }
}
