import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

/// A host whose netfilter is a few dictionaries, for the agent's tests
/// without root: reads show it as the scope would read the kernel, and an
/// apply plans with the real planners and makes their edits here, refusing
/// what the kernel refuses (a rule jumping to a missing chain, deleting a
/// chain that is not empty or still jumped to). Domains come from libvirt's
/// own test driver.
final class InMemoryHost: HostBackend {
    /// Every chain of every table, built-in chains included, with its rules.
    var tables: [AddressFamily: [IPTable.Name: [String: [KernelRule]]]] = [:]
    var ipsets: [KernelSet] = []
    /// The ebtables `nat` table: each chain's rules as ebtables-save prints them, without `-A CHAIN `.
    var ebtables: [String: [String]] = Dictionary(uniqueKeysWithValues: EbtablesTable.builtinChains.map { ($0, []) })
    /// Bridges' uplinks, by bridge.
    var uplinks: [String: String] = [:]
    /// CloudStack chains an nf_tables world holds: `checkHost` refuses to program beside them.
    var nfTablesChains: [String] = []
    /// The `native` layout's tables, when in place.
    var native: NativeRuleset?
    /// Whether the ebtables tools are installed.
    var ebtablesTools = true
    /// The next apply fails with this, changing nothing.
    var failure: NetfilterError?
    /// The scope of every apply that changed something, in order (dry runs left out).
    private(set) var transactions: [Scope] = []
    private let libvirt: LibvirtClient

    init(libvirtURI: String) throws {
        libvirt = try LibvirtClient(uri: libvirtURI)
        for family in AddressFamily.allCases {
            for name in IPTable.Name.allCases {
                tables[family, default: [:]][name] = Dictionary(uniqueKeysWithValues: name.builtinChains.map { ($0, []) })
            }
        }
    }

    // MARK: HostBackend

    func checkHost(allowNFTables: Bool, layout: Layout, replacesHost: Bool) throws(NetfilterError) {
        let world = HostWorld(nfTablesChains: nfTablesChains, legacyUnavailable: [], iptablesTool: "xtables-nft-multi",
                              nativeTables: native == nil ? [] : NativeRuleset.tableNames)
        // A legacy host (as `netfilter = legacy` configures it).
        if case .refuse(let reason) = world.decide(.legacy, allowNFTables: allowNFTables) {
            throw NetfilterError(operation: "host check", object: "netfilter", reason: reason)
        }
        if let reason = world.layoutRefusal(layout, replacesHost: replacesHost) {
            throw NetfilterError(operation: "host check", object: "netfilter", reason: reason)
        }
    }

    /// How often a run started loading libvirt.
    var libvirtPreparations = 0
    func prepareLibvirt() { libvirtPreparations += 1 }
    func settleLibvirt() {}

    /// A legacy host (as `checkHost` sees it).
    func defaultLayout() -> Layout { .notrack }

    func nativePorts(entering chains: Set<String>) -> Set<String> {
        let map = native?.tables.last?.sets.first { $0.name == "PREROUTING-ports" }
        return Set((map?.elements ?? []).compactMap { element in
            guard case .jump(let chain)? = element.data, chains.contains(chain), case .interface(let port)? = element.key.first else { return nil }
            return port
        })
    }

    func nativeChainNames(_ family: NativeTable.Family) -> [String] { native?.tables.first { $0.family == family }?.chains.map(\.name) ?? [] }

    func native(_ query: NativeQuery) -> NativeAnswer {
        native?.answer(query) ?? NativeAnswer(members: query.members.map { _ in false }, mapValues: query.mapKeys.map { _ in nil },
                                              chains: query.chains.map { _ in nil })
    }

    func table(_ name: IPTable.Name, _ family: AddressFamily, scope: Scope) -> KernelTableState {
        var state = KernelTableState(name: name, chains: [:])
        for (chain, rules) in tables[family]![name]! {
            guard name.isBuiltin(chain) || scope.readsChain(chain) else {
                state.otherChains.insert(chain)
                continue
            }
            state.chains[chain] = rules.map { rule in scope.decodesRule(in: chain, target: Self.targetName(rule)) ? rule : .opaque }
        }
        return state
    }

    func sets(named names: [String]?) -> [KernelSet] {
        guard let names else { return ipsets }
        return names.compactMap { name in ipsets.first { $0.name == name } }
    }

    func ebtablesChain(_ chain: String) -> [String]? { ebtables[chain] }

    func replaceNativeLayout(with ruleset: consuming NativeRuleset?) throws(NetfilterError) {
        if let failure { throw failure }
        native = ruleset
    }

    var ebtablesInstalled: Bool { ebtablesTools }

    func ruleCounts() -> [(table: String, rules: Int)] {
        AddressFamily.allCases.flatMap { family in
            IPTable.Name.allCases.map { name in
                ("\(family == .ipv4 ? "iptables" : "ip6tables") \(name.rawValue)", tables[family]![name]!.values.map(\.count).reduce(0, +))
            }
        }
    }

    var conntrackEntries: Int? { nil }

    func apply(_ options: ApplyOptions, render: () throws -> Ruleset) throws(ApplyError) -> ApplyReport {
        let ruleset: Ruleset
        do { ruleset = try render() } catch { throw ApplyError(failure: NetfilterError(operation: "render", object: "", reason: "\(error)")) }
        if let failure {
            self.failure = nil
            throw ApplyError(failure: failure)
        }
        guard ruleset.layout != .native else {
            // The native layout's changes are tested on the kernel (NativeAgentCommandsTests).
            throw ApplyError(failure: NetfilterError(operation: "apply", object: "native layout", reason: "not kept in memory"))
        }
        let scope = ruleset.scope
        let before = (tables, ipsets, ebtables)
        var report = ApplyReport()
        do {
            let kernelSets = sets(named: scope.setNames().map { named in
                named + ipsets.map(\.name).filter { scope.ownsWholeSet($0) && !named.contains($0) }
            })
            let setPlan = IPSetPlanner.plan(desired: ruleset.ipsets, kernel: kernelSets, scope: scope)
            try runIPSet(setPlan.beforeRules)
            for family in AddressFamily.allCases {
                for desired in ruleset.iptables(family).tables {
                    let edits = TablePlanner.plan(desired: desired, kernel: table(desired.name, family, scope: scope), scope: scope)
                    guard !edits.isEmpty else { continue }
                    let object = "\(family == .ipv4 ? "iptables" : "ip6tables") \(desired.name.rawValue)"
                    try edit(&tables[family]![desired.name]!, edits, object: object)
                    report.committedTables.append(object)
                    report.changes += edits.map { .iptables(object, $0) }
                }
            }
            try runIPSet(setPlan.afterRules)
            report.changes = setPlan.beforeRules.map { .batchLine("ipset", $0) } + report.changes
                + setPlan.afterRules.map { .batchLine("ipset", $0) }
            if options.ebtables {
                let kernel = ebtablesState(scope)
                if let whole = EbtablesPlanner.wholeTable(desired: ruleset.ebtables, kernel: kernel, scope: scope) {
                    ebtables = KernelEbtablesState.parseSave(whole).chains
                    report.changes.append(NetfilterChange(table: "ebtables nat", object: "", line: "(the whole table)"))
                } else {
                    let lines = EbtablesPlanner.plan(desired: ruleset.ebtables, kernel: kernel, scope: scope)
                    let oversized = EbtablesPlanner.oversizedObsoleteChains(desired: ruleset.ebtables, kernel: kernel, scope: scope)
                    try runEbtables(lines + oversized.flatMap { ["-F \($0)", "-X \($0)"] })
                    report.changes += lines.map { .batchLine("ebtables nat", $0) }
                }
            }
        } catch {
            (tables, ipsets, ebtables) = before
            throw ApplyError(failure: error)
        }
        report.changeCount = report.changes.count
        if options.dryRun {
            (tables, ipsets, ebtables) = before
            report.committedTables = []
        } else if !report.isEmpty {
            transactions.append(scope)
        }
        if !options.recordsChanges { report.changes = [] }
        return report
    }

    func uplink(of bridge: String) -> String? { uplinks[bridge] }

    func domains() throws(NetfilterError) -> [DomainInfo] { try libvirt.domains() }

    func domain(named name: String) throws(NetfilterError) -> DomainInfo? { try libvirt.domain(named: name) }

    func interfaces(of domain: String) throws(NetfilterError) -> [DomainInterface]? { try libvirt.interfaces(of: domain) }

    // MARK: What the tests ask

    /// Everything held, as `KernelSnapshot.read` reads a kernel.
    func snapshot() -> KernelSnapshot {
        var tables: [AddressFamily: [KernelTableState]] = [:]
        for family in AddressFamily.allCases {
            tables[family] = IPTable.Name.allCases.map { table($0, family, scope: .host) }
        }
        return KernelSnapshot(tables: tables, sets: ipsets, ebtables: KernelEbtablesState(chains: ebtables))
    }

    /// The host's rules and sets as each tool's save format prints what is ours.
    var text: RulesetText { snapshot().ownedText }

    /// One chain's rules as iptables-save lines.
    func lines(_ chain: String, _ family: AddressFamily = .ipv4, table: IPTable.Name = .filter) -> [String]? {
        tables[family]![table]![chain].map { rules in
            rules.map { if case .known(let rule) = $0 { IPTablesSaveFormat.line(rule, chain: chain) } else { "(opaque)" } }
        }
    }

    func members(_ set: String) -> [String]? { ipsets.first { $0.name == set }?.members }

    // MARK: Making the edits

    private static func targetName(_ rule: KernelRule) -> String? {
        guard case .known(let known) = rule else { return nil }
        return if case .jump(let chain) = known.target { chain } else { "\(known.target)".uppercased() }
    }

    private static func refusal(_ operation: String, _ object: String, _ reason: String) -> NetfilterError {
        NetfilterError(operation: operation, object: object, reason: reason)
    }

    private func edit(_ table: inout [String: [KernelRule]], _ edits: [TableEdit], object: String) throws(NetfilterError) {
        func jumpsTo(_ chain: String) -> Bool {
            table.values.joined().contains { if case .known(let rule) = $0, rule.target == .jump(chain) { true } else { false } }
        }
        func add(_ rule: IPTablesRule, to chain: String, at index: Int?) throws(NetfilterError) {
            guard table[chain] != nil else { throw Self.refusal("add rule", "\(object) chain \(chain)", "no such chain") }
            if case .jump(let target) = rule.target, table[target] == nil {
                throw Self.refusal("add rule", "\(object) chain \(chain)", "jump to missing chain \(target)")
            }
            if let index { table[chain]!.insert(.known(rule), at: index) } else { table[chain]!.append(.known(rule)) }
        }
        for edit in edits {
            switch edit {
            case .createChain(let chain):
                guard table[chain] == nil else { throw Self.refusal("create chain", "\(object) chain \(chain)", "exists") }
                table[chain] = []
            case .insert(let chain, let index, let rule): try add(rule, to: chain, at: index)
            case .append(let chain, let rule): try add(rule, to: chain, at: nil)
            case .delete(let chain, let index):
                guard let rules = table[chain], rules.indices.contains(index) else {
                    throw Self.refusal("delete rule \(index + 1)", "\(object) chain \(chain)", "no such rule")
                }
                table[chain]!.remove(at: index)
            case .flushChain(let chain): table[chain] = []
            case .deleteChain(let chain):
                guard table[chain]?.isEmpty == true, !jumpsTo(chain) else {
                    throw Self.refusal("delete chain", "\(object) chain \(chain)", "missing, not empty or jumped to")
                }
                table[chain] = nil
            }
        }
    }

    private func runIPSet(_ commands: [String]) throws(NetfilterError) {
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            let index = ipsets.firstIndex { $0.name == words[1] }
            switch (words[0], index) {
            case ("create", nil):
                let family = words.firstIndex(of: "family").map { words[$0 + 1] == "inet6" ? AddressFamily.ipv6 : .ipv4 }
                ipsets.append(KernelSet(name: words[1], type: words[2], family: family, members: []))
            case ("add", let index?) where !ipsets[index].members.contains(words[2]): ipsets[index].members.append(words[2])
            case ("del", let index?) where ipsets[index].members.contains(words[2]): ipsets[index].members.removeAll { $0 == words[2] }
            case ("destroy", let index?) where !referenced(words[1]): ipsets.remove(at: index)
            case ("swap", let index?):
                guard let other = ipsets.firstIndex(where: { $0.name == words[2] }) else { throw Self.refusal("ipset", command, "no such set") }
                (ipsets[index].name, ipsets[other].name) = (ipsets[other].name, ipsets[index].name)
            default: throw Self.refusal("ipset", "'\(command)'", "refused")
            }
        }
    }

    private func referenced(_ set: String) -> Bool {
        tables.values.flatMap(\.values).flatMap(\.values).joined().contains { rule in
            if case .known(let known) = rule { known.referencedSets.contains(set) } else { false }
        }
    }

    /// The ebtables chains a scope's read lists: built-in, dispatch and the scope's own.
    private func ebtablesState(_ scope: Scope) -> KernelEbtablesState {
        KernelEbtablesState(chains: ebtables.filter { chain, _ in
            EbtablesTable.builtinChains.contains(chain) || InterfaceDispatch.isDispatchChain(chain) || scope.ownsEbtablesChain(chain)
        })
    }

    private func runEbtables(_ lines: [String]) throws(NetfilterError) {
        for line in lines {
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            let chain = words[1]
            switch words[0] {
            case "-N":
                guard ebtables[chain] == nil else { throw Self.refusal("ebtables -N", chain, "exists") }
                ebtables[chain] = []
            case "-F" where ebtables[chain] != nil: ebtables[chain] = []
            case "-X" where ebtables[chain]?.isEmpty == true:
                guard !ebtables.values.joined().contains(where: { EbtablesSaveFormat.rule($0)?.target == .jump(chain) }) else {
                    throw Self.refusal("ebtables -X", chain, "jumped to")
                }
                ebtables[chain] = nil
            case "-A" where ebtables[chain] != nil && words.count == 3:
                if case .jump(let target)? = EbtablesSaveFormat.rule(words[2])?.target, ebtables[target] == nil {
                    throw Self.refusal("ebtables -A", chain, "jump to missing chain \(target)")
                }
                ebtables[chain]!.append(words[2])
            case "-D" where words.count == 3 && ebtables[chain]?.contains(words[2]) == true:
                ebtables[chain]!.remove(at: ebtables[chain]!.firstIndex(of: words[2])!)
            default: throw Self.refusal("ebtables-restore", "'\(line)'", "refused")
            }
        }
    }
}
