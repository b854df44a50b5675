public import SecurityGroupsCore

/// The planner's edits of an iptables table, as nf_tables messages: what
/// libiptc does to its copy of a legacy table, done to the rules nf_tables
/// holds, by handle (rules read) or by transaction id (rules added in the
/// same transaction). All tables and both families go in one transaction.
enum IPTablesNFTEdits {
    /// A rule's place in a chain while the edits are laid out.
    private enum Slot {
        case handle(UInt64)
        case id(UInt32)
    }

    /// The messages for `edits`, planned against `table` as read with
    /// `handles`, written into `batch`.
    static func write(_ edits: [TableEdit], table: IPTable.Name, family: AddressFamily, handles: [String: [UInt64]],
                      sets: inout RuleCodec, nextID: inout UInt32, into batch: inout NetfilterBatch) throws(NetfilterError) {
        typealias M = NFTablesMessages
        let netlinkFamily = family.nfTablesFamily
        let object = family.tableObject(table)
        let tableName = M.string(1, table.rawValue)
        var slots = handles.mapValues { $0.map(Slot.handle) }
        func chainAttribute(_ chain: String) -> [UInt8] { tableName + M.string(2, chain) }
        func chainObject(_ chain: String) -> String { "\(object) chain \(chain)" }
        func add(_ rule: IPTablesRule, to chain: String, at index: Int?) throws(NetfilterError) {
            guard let expressions = try IPTablesNFTRules.expressions(rule, family: family, sets: &sets) else {
                throw NetfilterError(operation: "encode rule", object: IPTablesSaveFormat.line(rule, chain: chain), reason: "not expressible in nf_tables")
            }
            nextID += 1
            var attributes = chainAttribute(chain) + M.expressions(expressions) + IPTablesNFTTable.compat(rule)
                + M.u32(9, nextID)                                                // NFTA_RULE_ID
            var flags = M.create | M.append
            var current = slots[chain] ?? []
            if let index, index < current.count {
                // Before the rule now at `index` (no NLM_F_APPEND: before the position).
                flags = M.create
                switch current[index] {
                case .handle(let handle): attributes += M.u64(6, handle)        // NFTA_RULE_POSITION
                case .id(let id): attributes += M.u32(10, id)                 // NFTA_RULE_POSITION_ID
                }
                current.insert(.id(nextID), at: index)
            } else {
                current.append(.id(nextID))
            }
            slots[chain] = current
            batch.append((M.newRule, flags, netlinkFamily, attributes, "\(object) '\(IPTablesSaveFormat.line(rule, chain: chain))'"))
        }
        for edit in edits {
            switch edit {
            case .createChain(let chain):
                batch.append((M.newChain, M.create, netlinkFamily, tableName + M.string(3, chain), chainObject(chain)))
                slots[chain] = []
            case .append(let chain, let rule):
                try add(rule, to: chain, at: nil)
            case .insert(let chain, let index, let rule):
                try add(rule, to: chain, at: index)
            case .delete(let chain, let index):
                guard var current = slots[chain], current.indices.contains(index) else {
                    throw NetfilterError(operation: "delete rule \(index + 1)", object: chainObject(chain), reason: "no such rule")
                }
                let which: [UInt8] = switch current.remove(at: index) {
                case .handle(let handle): M.u64(3, handle)                       // NFTA_RULE_HANDLE
                case .id(let id): M.u32(9, id)                                   // NFTA_RULE_ID
                }
                slots[chain] = current
                batch.append((M.deleteRule, 0, netlinkFamily, chainAttribute(chain) + which, "\(chainObject(chain)) rule \(index + 1)"))
            case .flushChain(let chain):
                batch.append((M.deleteRule, 0, netlinkFamily, chainAttribute(chain), chainObject(chain)))
                slots[chain] = []
            case .deleteChain(let chain):
                batch.append((M.deleteChain, 0, netlinkFamily, tableName + M.string(3, chain), chainObject(chain)))
                slots[chain] = nil
            }
        }
    }
}

/// What one `IPTablesNFTTable.sync` did (or, in a dry run, would do).
public struct IPTablesNFTSync: Sendable {
    /// Each table's edits, in the transaction's order (`iptables filter`, …).
    public var tables: [(object: String, edits: [TableEdit])] = []
    /// Transactions the kernel refused because the rule set had changed
    /// since it was read, and that were planned again.
    public var retries = 0
    /// Wall-clock seconds per phase.
    public var timings: [(phase: String, seconds: Double)] = []

    public var editCount: Int { tables.reduce(0) { $0 + $1.edits.count } }
}

extension IPTablesNFTTable {
    /// Brings the iptables tables nf_tables holds to `ruleset`, in the scope
    /// it was rendered for: each table read, planned with the same planner
    /// as on legacy x_tables, and every table's edits, both families, sent
    /// as one transaction (none in a dry run). Tables that do not exist yet
    /// are made as iptables-nft makes them. The transaction names the
    /// generation the tables were read at: when something else changed the
    /// rule set meanwhile the kernel refuses it, and it is read, planned and
    /// sent again (as a legacy commit is on EAGAIN).
    /// Another tool writing all the time (iptables-nft in a loop) can make
    /// many attempts fail; they go on for up to `patience` seconds.
    public static func sync(_ ruleset: Ruleset, dryRun: Bool = false, patience: Double = 30) throws(NetfilterError) -> IPTablesNFTSync {
        var retries = 0
        let deadline = MonotonicClock.now() + patience
        while true {
            do {
                var result = try syncOnce(ruleset, dryRun: dryRun)
                result.retries = retries
                return result
            } catch where error.errno == 85 && MonotonicClock.now() < deadline {                    // ERESTART
                retries += 1
            }
        }
    }

    private static func syncOnce(_ ruleset: Ruleset, dryRun: Bool) throws(NetfilterError) -> IPTablesNFTSync {
        var clock = PhaseClock()
        var result = IPTablesNFTSync()
        let generation = try NFTablesRules.generation()
        var codec = RuleCodec()
        var nextID: UInt32 = 0
        let nothingToWrite = AddressFamily.allCases.allSatisfy { ruleset.iptables($0).tables.allSatisfy(\.isEmpty) }
        var written = 0
        // The edits go into the transaction's datagram as they are made (a
        // whole host's messages are not held a second time).
        try NetfilterNetlink(subject: "nf_tables").transact(generation: generation) { batch throws(NetfilterError) in
            for family in AddressFamily.allCases {
                let listed = try NFTablesChains.list(family: family.nfTablesFamily)
                for desired in ruleset.iptables(family).tables {
                    let read = try readWithHandles(desired.name, family, scope: ruleset.scope, listed: listed)
                    let edits = TablePlanner.plan(desired: desired, kernel: read.state, scope: ruleset.scope)
                    let object = family.tableObject(desired.name)
                    result.tables.append((object, edits))
                    result.timings.append(("\(object) read and plan", clock.lap()))
                    guard !dryRun else { continue }
                    // Every table the ruleset names, and its built-in chains,
                    // exist after, as after the script's iptables-nft commands;
                    // none is made for a ruleset of nothing (the iptables
                    // layout's removal from a native host).
                    if !nothingToWrite {
                        batch.append(contentsOf: tableMessages(desired.name, family, tableExists: read.exists,
                                                               existing: Set(read.state.chains.keys).union(read.state.otherChains)))
                    }
                    try IPTablesNFTEdits.write(edits, table: desired.name, family: family, handles: read.handles,
                                               sets: &codec, nextID: &nextID, into: &batch)
                }
            }
            written = batch.objects.count
        }
        if written > 0 { result.timings.append(("nf_tables transaction (\(written) messages)", clock.lap())) }
        return result
    }
}
