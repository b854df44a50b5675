/// One change to an iptables table, in the order it must be made.
public enum TableEdit: Equatable, Sendable, CustomStringConvertible {
    case createChain(String)
    case insert(chain: String, index: Int, rule: IPTablesRule)
    case append(chain: String, rule: IPTablesRule)
    case delete(chain: String, index: Int)
    case flushChain(String)
    case deleteChain(String)

    public var description: String {
        switch self {
        case .createChain(let chain): "-N \(chain)"
        case .insert(let chain, let index, let rule):
            "-I \(chain) \(index + 1)" + IPTablesSaveFormat.line(rule, chain: chain).dropFirst(3 + chain.count)
        case .append(let chain, let rule): IPTablesSaveFormat.line(rule, chain: chain)
        case .delete(let chain, let index): "-D \(chain) \(index + 1)"
        case .flushChain(let chain): "-F \(chain)"
        case .deleteChain(let chain): "-X \(chain)"
        }
    }
}

/// Brings one table from what the kernel holds to what we want with the
/// fewest edits, touching only what `Ownership` says is ours.
///
/// Order: create missing chains (so jumps can name them), edit every chain's
/// rules, then flush and delete chains no longer wanted (once nothing of
/// ours jumps to them).
public enum TablePlanner {
    /// Where our rules go in a built-in chain that holds none of them yet.
    enum Placement { case top, bottom }

    /// `kernel` must hold, read in full, every chain `scope` reads.
    public static func plan(desired rendered: IPTable, kernel: KernelTableState, scope: Scope = .host) -> [TableEdit] {
        var desired = rendered
        PortDispatch.merge(&desired, kernel: kernel, scope: scope)
        var edits: [TableEdit] = []
        // In a VM scope only the VM's bridges are in `desired`: their jumps and drops are its share of FORWARD.
        let bridgeChains: Set<String>
        if case .host = scope {
            bridgeChains = Set((Array(kernel.chains.keys) + Array(desired.chains.keys)).filter { $0.hasPrefix("BF-") })
        } else {
            bridgeChains = Set(desired.chains.keys.filter { $0.hasPrefix("BF-") })
        }

        let newChains = desired.chains.keys.filter { !kernel.exists($0) }.sorted()
        edits += newChains.map(TableEdit.createChain)

        func shared(_ chain: String, placement: Placement, wanted: [IPTablesRule]) -> [TableEdit] {
            let current = kernel.chains[chain] ?? []
            let owns = { (rule: KernelRule) in
                scope.ownsSharedRule(rule, chain: chain, table: desired.name, bridgeChains: bridgeChains)
            }
            return editSequence(chain: chain, current: current, owned: current.map(owns),
                                desired: wanted.filter { owns(.known($0)) }, placement: placement)
        }
        for chain in desired.name.builtinChains {
            edits += shared(chain, placement: desired.name == .nat ? .bottom : .top, wanted: desired.builtinRules[chain] ?? [])
        }
        // Bridge chains a VM scope shares: its own jumps only, wherever they are.
        let sharedChains = Set(kernel.chains.keys.filter { !desired.name.isBuiltin($0) && !scope.ownsWholeChain($0) && $0.hasPrefix("BF-") })
            .union(desired.chains.keys.filter { !scope.ownsWholeChain($0) })
        for chain in sharedChains.sorted() {
            edits += shared(chain, placement: .bottom, wanted: desired.chains[chain] ?? [])
        }
        for chain in desired.chains.keys.sorted() where scope.ownsWholeChain(chain) {
            let current = kernel.chains[chain] ?? []
            edits += editSequence(chain: chain, current: current, owned: current.map { _ in true },
                                  desired: desired.chains[chain]!, placement: .bottom)
        }

        let obsolete = kernel.chains.keys.filter {
            desired.chains[$0] == nil && !desired.name.isBuiltin($0) && scope.mayDeleteChain($0)
        }.sorted()
        edits += obsolete.filter { !(kernel.chains[$0] ?? []).isEmpty }.map(TableEdit.flushChain)
        edits += obsolete.map(TableEdit.deleteChain)
        return edits
    }

    /// Edits that make the owned rules of one chain equal `desired`, leaving
    /// the others where they are: common prefix and suffix stay, the middle
    /// is replaced.
    static func editSequence(chain: String, current: [KernelRule], owned: [Bool], desired: [IPTablesRule],
                             placement: Placement) -> [TableEdit] {
        let ownedIndexes = current.indices.filter { owned[$0] }
        let ours: [KernelRule] = ownedIndexes.map { current[$0] }
        let wanted = desired.map(KernelRule.known)
        if ours == wanted { return [] }

        var prefix = 0
        while prefix < ours.count, prefix < wanted.count, ours[prefix] == wanted[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < ours.count - prefix, suffix < wanted.count - prefix,
              ours[ours.count - 1 - suffix] == wanted[wanted.count - 1 - suffix] { suffix += 1 }

        var edits: [TableEdit] = []
        let removed = Array(ownedIndexes[prefix..<(ours.count - suffix)])
        for index in removed.reversed() { edits.append(.delete(chain: chain, index: index)) }

        let inserted = desired[prefix..<(desired.count - suffix)]
        guard !inserted.isEmpty else { return edits }
        let chainLength = current.count - removed.count
        let position: Int
        if prefix > 0 {
            position = ownedIndexes[prefix - 1] + 1
        } else if suffix > 0 {
            position = ownedIndexes[ours.count - suffix] - removed.count
        } else if let first = removed.first {
            position = first
        } else {
            position = placement == .top ? 0 : chainLength
        }
        for (offset, rule) in inserted.enumerated() {
            if position + offset == chainLength + offset {
                edits.append(.append(chain: chain, rule: rule))
            } else {
                edits.append(.insert(chain: chain, index: position + offset, rule: rule))
            }
        }
        return edits
    }
}
