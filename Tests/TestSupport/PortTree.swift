/// The port dispatch trees of the `notrack` layout, worked out from the flat
/// jumps of a dump by their definition rather than by building them: the
/// chains are the root and every longest common prefix of two port names;
/// a port's jump sits in the chain of its longest prefix that is one, and a
/// chain's `prefix+` jump in the chain of its longest proper prefix that is
/// one. Chains are `sg-in[-prefix]` / `sg-out[-prefix]`.
enum PortTree {
    /// An iptables-save table with every `BF-*-IN`/`-OUT` port jump moved into the trees.
    static func iptables(_ table: String) -> String {
        var dump = Dump(table)
        for (suffix, option, direction) in [("-IN", "in", "sg-in"), ("-OUT", "out", "sg-out")] {
            var entries: [(port: String, target: String)] = []
            for chain in dump.userChains where chain.hasPrefix("BF-") && chain.hasSuffix(suffix) {
                for rule in dump.rules[chain] ?? [] {
                    let words = rule.split(separator: " ").map(String.init)
                    entries.append((words[3], words[6]))
                }
                dump.rules[chain] = ["-j \(direction)"]
            }
            for (chain, rules) in tree(entries, root: direction, rule: { "-m physdev --physdev-\(option) \($0) --physdev-is-bridged -j \($1)" }) {
                dump.add(chain, policy: "- [0:0]", rules: rules)
            }
        }
        return dump.text(footer: "COMMIT\n")
    }

    /// An ebtables-save `nat` table with the PREROUTING/POSTROUTING port jumps moved into the trees.
    static func ebtables(_ table: String) -> String {
        var dump = Dump(table.isEmpty ? "*nat\n:PREROUTING ACCEPT\n:OUTPUT ACCEPT\n:POSTROUTING ACCEPT\n" : table)
        for (builtin, option, direction) in [("PREROUTING", "i", "sg-in"), ("POSTROUTING", "o", "sg-out")] {
            let entries = (dump.rules[builtin] ?? []).map { rule in
                let words = rule.split(separator: " ").map(String.init)
                return (port: words[1], target: words[3])
            }
            // Only ARP enters the POSTROUTING tree: a VM's -out chain acts on nothing else.
            dump.rules[builtin] = [builtin == "POSTROUTING" ? "-p ARP -j \(direction)" : "-j \(direction)"]
            for (chain, rules) in tree(entries, root: direction, rule: { "-\(option) \($0) -j \($1)" }) {
                dump.add(chain, policy: "RETURN", rules: rules)
            }
        }
        return dump.text(footer: "")
    }

    private static func tree(_ entries: [(port: String, target: String)], root: String,
                             rule: (String, String) -> String) -> [(String, [String])] {
        let names = Set(entries.map(\.port)).sorted()
        var nodes: Set<String> = [""]
        for a in names {
            for b in names where a < b {
                nodes.insert(String(a.prefix(zip(a, b).prefix { $0 == $1 }.count)))
            }
        }
        func chain(_ prefix: String) -> String { prefix.isEmpty ? root : "\(root)-\(prefix)" }
        func home(of label: String, proper: Bool) -> String {
            nodes.filter { label.hasPrefix($0) && (!proper || $0 != label) }.max { $0.count < $1.count }!
        }
        // Children of each node, labelled by a name or a node prefix, in byte order.
        var children: [String: [(label: String, rules: [String])]] = [:]
        for name in names {
            let rules = entries.filter { $0.port == name }.map { rule(name, $0.target) }
            children[home(of: name, proper: false), default: []].append((name, rules))
        }
        for node in nodes where !node.isEmpty {
            children[home(of: node, proper: true), default: []].append((node + "+", [rule(node + "+", chain(node))]))
        }
        return nodes.map { node in
            (chain(node), (children[node] ?? []).sorted { Array($0.label.utf8).lexicographicallyPrecedes(Array($1.label.utf8)) }
                .flatMap(\.rules))
        }
    }
}

/// A save-format table: header, chain declarations and rules by chain,
/// written back with user chains in byte order as both save tools print them.
struct Dump {
    var header: String
    var builtins: [(name: String, declaration: String)] = []
    var declarations: [String: String] = [:]
    var rules: [String: [String]] = [:]

    var userChains: [String] { declarations.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } }

    init(_ text: String) {
        let lines = text.split(separator: "\n").map(String.init)
        header = lines.first ?? ""
        for line in lines.dropFirst() {
            if line.hasPrefix(":") {
                let name = String(line.dropFirst().prefix { $0 != " " })
                if name.uppercased() == name && !name.contains("-") {
                    builtins.append((name, line))
                } else {
                    declarations[name] = line
                }
            } else if line.hasPrefix("-A ") {
                let chain = String(line.dropFirst(3).prefix { $0 != " " })
                rules[chain, default: []].append(String(line.dropFirst(4 + chain.count)))
            }
        }
    }

    mutating func add(_ chain: String, policy: String, rules chainRules: [String]) {
        declarations[chain] = ":\(chain) \(policy)"
        rules[chain] = chainRules
    }

    func text(footer: String) -> String {
        let order = builtins.map(\.name) + userChains
        var out = header + "\n" + builtins.map { $0.declaration + "\n" }.joined() + userChains.map { declarations[$0]! + "\n" }.joined()
        for chain in order { out += (rules[chain] ?? []).map { "-A \(chain) \($0)\n" }.joined() }
        return out + footer
    }
}
