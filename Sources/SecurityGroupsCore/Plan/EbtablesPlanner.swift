/// The ebtables `nat` table as the kernel holds it (from ebtables-save).
public struct KernelEbtablesState: Equatable, Sendable {
    /// Every chain with its rules as ebtables-save prints them, `-A CHAIN ` cut off.
    public var chains: [String: [String]]
    /// Chains known to exist (a listed chain jumps to them) whose rules were
    /// not read, because the run deletes them whole.
    public var unlisted: Set<String>
    /// Whether a built-in chain's policy is other than ACCEPT (from ebtables-save).
    public var changedPolicies = false

    public init(chains: [String: [String]] = [:], unlisted: Set<String> = []) {
        self.chains = chains
        self.unlisted = unlisted
    }

    /// A table as a fresh kernel has it: built-in chains only, empty, accepting.
    public var isPristine: Bool {
        !changedPolicies && unlisted.isEmpty
            && chains.allSatisfy { EbtablesTable.builtinChains.contains($0.key) && $0.value.isEmpty }
    }

    /// Parses ebtables-save output, keeping the `nat` table.
    public static func parseSave(_ text: String) -> KernelEbtablesState {
        var state = KernelEbtablesState()
        var inNat = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("*") {
                inNat = line == "*nat"
            } else if inNat, line.hasPrefix(":") {
                let words = line.dropFirst().split(separator: " ").map(String.init)
                let name = words.first ?? ""
                state.chains[name] = state.chains[name] ?? []
                if EbtablesTable.builtinChains.contains(name), words.count > 1, words[1] != "ACCEPT" { state.changedPolicies = true }
            } else if inNat, line.hasPrefix("-A ") {
                let words = line.split(separator: " ", maxSplits: 2)
                guard words.count == 3 else { continue }
                state.chains[String(words[1]), default: []].append(String(words[2]))
            }
        }
        return state
    }
}

/// Brings our ebtables chains and PREROUTING/POSTROUTING jumps to the desired
/// state as one `ebtables-restore --noflush` batch (applied atomically),
/// touching nothing else.
public enum EbtablesPlanner {
    /// The batch lines, without the `*nat` header; empty when nothing changes.
    /// `kernel` must hold PREROUTING, POSTROUTING and every chain `scope` covers.
    public static func plan(desired rendered: EbtablesTable, kernel: KernelEbtablesState, scope: Scope = .host) -> [String] {
        var desired = rendered
        PortDispatch.merge(&desired, kernel: kernel, scope: scope)
        var lines: [String] = []
        let body = EbtablesSaveFormat.body
        // Declare every rewritten chain before any rule can jump to it: `-N`
        // a new one, `-F` one that exists. (`:CHAIN POLICY`, which does both,
        // costs ebtables-nft-restore --noflush time quadratic in the number
        // of chains: 50 s for a 5,000-VM host where `-N` takes 4 s.)
        var rewritten: [String] = []
        for chain in desired.chains.keys.sorted() where scope.ownsEbtablesChain(chain) {
            let wanted = desired.chains[chain]!.map(body)
            guard kernel.chains[chain] != wanted else { continue }
            if kernel.chains[chain] != nil || kernel.unlisted.contains(chain) {
                lines.append("-F \(chain)")
            } else {
                let policy = EbtablesTable.policy(of: chain)
                lines.append("-N \(chain)" + (policy == "ACCEPT" ? "" : " -P \(policy)"))
            }
            rewritten += wanted.map { "-A \(chain) \($0)" }
        }
        lines += rewritten
        for chain in EbtablesTable.builtinChains {
            let current = kernel.chains[chain] ?? []
            let ours = current.filter { isJump($0, scope: scope) }
            let wanted = (desired.builtinRules[chain] ?? []).map(body).filter { isJump($0, scope: scope) }
            guard ours != wanted else { continue }
            let keep = Set(wanted)
            lines += ours.filter { !keep.contains($0) }.map { "-D \(chain) \($0)" }
            let present = Set(ours)
            lines += wanted.filter { !present.contains($0) }.map { "-A \(chain) \($0)" }
        }
        let obsolete = obsoleteChains(desired: desired, kernel: kernel, scope: scope)
            .filter { $0.count <= NetfilterNames.longestEbtablesChain }
        lines += obsolete.filter { kernel.unlisted.contains($0) || !(kernel.chains[$0] ?? []).isEmpty }.map { "-F \($0)" }
        lines += obsolete.map { "-X \($0)" }
        return lines
    }

    /// The whole table to restore (flushing it) instead of the batch, when a
    /// run for the host finds a table as fresh as after a reboot: nothing
    /// there to keep, and ebtables-nft-restore writes a 5,000-VM table in
    /// 3 s this way where `--noflush` takes 30. Something another tool adds
    /// between the read and this write would be lost: the read is the
    /// same run's, a moment before.
    public static func wholeTable(desired: EbtablesTable, kernel: KernelEbtablesState, scope: Scope) -> String? {
        guard case .host = scope, kernel.isPristine, !desired.isEmpty else { return nil }
        return EbtablesSaveFormat.text(desired)
    }

    /// Chains of ours to delete whose names ebtables-restore refuses (over
    /// 28 characters): the script makes them with `ebtables -N` for VM names
    /// over 20 characters, and no rule can jump to them. They are flushed
    /// and deleted one by one (`ebtables -F`, `-X`), after the batch.
    public static func oversizedObsoleteChains(desired: EbtablesTable, kernel: KernelEbtablesState, scope: Scope = .host) -> [String] {
        obsoleteChains(desired: desired, kernel: kernel, scope: scope).filter { $0.count > NetfilterNames.longestEbtablesChain }
    }

    private static func obsoleteChains(desired: EbtablesTable, kernel: KernelEbtablesState, scope: Scope) -> [String] {
        Set(kernel.chains.keys).union(kernel.unlisted).filter {
            desired.chains[$0] == nil && !EbtablesTable.builtinChains.contains($0) && scope.ownsEbtablesChain($0)
        }.sorted()
    }

    /// `-i VIF -j i-...-in` / `-o VIF -j i-...-out` into a chain of the
    /// scope's, or the jump into a port dispatch tree.
    private static func isJump(_ rule: String, scope: Scope) -> Bool {
        if InterfaceDispatch.Direction.allCases.contains(where: { rule == EbtablesSaveFormat.body(PortDispatch.rootJump($0)) }) {
            return true
        }
        guard let jump = EbtablesSaveFormat.rule(rule)?.portJump else { return false }
        return scope.ownsEbtablesJump(jump.chain)
    }
}
