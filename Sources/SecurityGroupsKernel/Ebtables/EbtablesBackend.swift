import Foundation
import SecurityGroupsCore

/// ebtables through the nf_tables `ebtables` tools, run directly (never
/// through a shell): `ebtables-restore --noflush` applies a batch atomically
/// and leaves chains it does not name alone.
enum EbtablesBackend {
    /// Reads `chains`, or the whole table when nil or when more than
    /// `maxListings` of them exist: a chain listing (`ebtables -L CHAIN
    /// --Lx`, or over netlink when its rules are all port jumps,
    /// `EbtablesNFTChains`) is far cheaper than ebtables-save on a large table. Which
    /// chains exist comes from nf_tables itself (one netlink dump), so a
    /// listing that fails is an error, never "no such chain". ebtables-nft commits a batch even to list, so the listings
    /// run one after the other, never side by side. Only what the plan
    /// needs is listed, following jumps from the built-in chains: the port
    /// dispatch chains asked for (the plan rebuilds them from their
    /// content), the VMs' top chains they or the built-ins jump to, and the
    /// chains those jump to when `wanted` has them (to compare). The others
    /// that exist are only noted (they are deleted whole, or rewritten
    /// whole: flushed and filled).
    static func read(chains: [String]?, wanted: Set<String> = []) throws(NetfilterError) -> KernelEbtablesState {
        let existing = try chains.map { names throws(NetfilterError) in try existingChains(names) }
        guard let chains, let existing, existing.count <= maxListings else {
            return KernelEbtablesState.parseSave(
                try RunningTool(try tool("ebtables", verb: "save"), ["-t", "nat"], operation: "ebtables-save").finish())
        }
        let program = try tool("ebtables", verb: nil)
        var state = KernelEbtablesState()
        func targets(_ chain: String) -> [String] {
            (state.chains[chain] ?? []).compactMap { rule in
                if case .jump(let target)? = EbtablesSaveFormat.rule(rule)?.target { target } else { nil }
            }
        }
        var queue = chains.filter { EbtablesTable.builtinChains.contains($0) && existing.contains($0) }
        var tops: Set<String> = []
        while !queue.isEmpty {
            let chain = queue.removeFirst()
            guard state.chains[chain] == nil else { continue }
            state.chains[chain] = try readChain(chain, program: program)
            let dispatching = EbtablesTable.builtinChains.contains(chain) || InterfaceDispatch.isDispatchChain(chain)
            for target in targets(chain) where existing.contains(target) && state.chains[target] == nil {
                if InterfaceDispatch.isDispatchChain(target) {
                    queue.append(target)
                } else if dispatching {
                    tops.insert(target)
                    queue.append(target)
                } else if tops.contains(chain) && wanted.contains(target) {
                    queue.append(target)
                }
            }
        }
        for chain in chains where existing.contains(chain) && state.chains[chain] == nil {
            state.unlisted.insert(chain)
        }
        return state
    }

    /// Past this many chains to list, one ebtables-save is cheaper: a listing
    /// costs 12-37 ms whatever the table's size, a save of 30,000 chains
    /// (5,000 VMs) 15 s.
    static let maxListings = 64

    /// One chain's rules as ebtables-save prints them (without `-A CHAIN `);
    /// nil when nf_tables has no such chain.
    static func list(_ chain: String) throws(NetfilterError) -> [String]? {
        guard try existingChains([chain]).contains(chain) else { return nil }
        return try readChain(chain, program: try tool("ebtables", verb: nil))
    }

    /// Which of `chains` ebtables' `nat` table holds, asked of nf_tables.
    private static func existingChains(_ chains: [String]) throws(NetfilterError) -> Set<String> {
        try NFTablesChains.existing(chains, family: NFTablesChains.bridge, table: "nat")
    }

    /// One chain's rules: over netlink when they are all port jumps, else from the tool.
    private static func readChain(_ chain: String, program: String) throws(NetfilterError) -> [String] {
        if let rules = try EbtablesNFTChains.rules(of: chain) { return rules }
        return try listChain(chain, program: program)
    }

    private static func listChain(_ chain: String, program: String) throws(NetfilterError) -> [String] {
        let listing = try RunningTool(program, ["-t", "nat", "-L", chain, "--Lx"], operation: "ebtables -L \(chain)").finish()
        return listing.split(separator: "\n")
            .filter { $0.hasPrefix("-") }
            .map { $0.hasPrefix("-A \(chain) ") ? String($0.dropFirst(4 + chain.count)) : String($0) }
    }

    static func save() throws(NetfilterError) -> KernelEbtablesState {
        try read(chains: nil)
    }

    /// Applies `lines` in one `ebtables-restore --noflush` transaction. The
    /// lines and their text are let go once the tool has its input: for a
    /// whole host they are tens of megabytes, and the tool runs for seconds.
    static func restore(_ lines: consuming [String]) throws(NetfilterError) {
        guard !lines.isEmpty else { return }
        let input = "*nat\n" + lines.joined(separator: "\n") + "\n"
        _ = consume lines
        try restore(consume input, arguments: ["--noflush"])
    }

    /// Replaces the whole `nat` table with `text` (ebtables-save syntax) in
    /// one ebtables-restore transaction.
    static func restore(table text: consuming String) throws(NetfilterError) {
        try restore(consume text, arguments: [])
    }

    private static func restore(_ input: consuming String, arguments: [String]) throws(NetfilterError) {
        let program = try tool("ebtables", verb: "restore")
        let running = try RunningTool(program, arguments, input: input, operation: "ebtables-restore")
        input = ""
        _ = try running.finish()
    }

    /// Flushes and deletes `chains` one `ebtables` run each: for chains whose
    /// names ebtables-restore refuses. A chain already gone counts as deleted.
    static func delete(_ chains: [String]) throws(NetfilterError) {
        guard !chains.isEmpty else { return }
        let program = try tool("ebtables", verb: nil)
        let existing = try existingChains(chains)
        for chain in chains where existing.contains(chain) {
            _ = try RunningTool(program, ["-t", "nat", "-F", chain], operation: "ebtables -F").finish()
            _ = try RunningTool(program, ["-t", "nat", "-X", chain], operation: "ebtables -X").finish()
        }
    }

    /// `ebtables-nft[-verb]` where installed, else `ebtables[-verb]`.
    static func tool(_ base: String, verb: String?) throws(NetfilterError) -> String {
        let suffix = verb.map { "-\($0)" } ?? ""
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            for name in ["\(base)-nft\(suffix)", "\(base)\(suffix)"] {
                let path = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        throw NetfilterError(operation: "find tool", object: "\(base)\(suffix)", reason: "not installed (Debian package iptables)")
    }
}
