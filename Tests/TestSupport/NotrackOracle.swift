import Foundation

/// The `notrack` layout worked out from the script's `classic` dumps by the
/// differences `shared/docs/notrack-layout.md` lists, as text: an oracle
/// that shares no code with the renderer, so a renderer bug shows.
///
/// - filter: no `-m state --state NEW` on any rule of a guest's ingress
///   and egress chains, either family;
/// - ipset: `cs_notrack`/`cs_tracked` (and their `6` twins) with every
///   address of the guests' sets, by whether the guest is open in the family:
///   an ingress rule of protocol all from anywhere (`-A VM -m state --state
///   NEW -j ACCEPT`), and egress open (the `-eg` chain ends in RETURN) or an
///   egress rule of protocol all to anywhere;
/// - raw PREROUTING: a RETURN for each metadata DNAT, then the two
///   `CT --notrack` rules, in each family;
/// - port dispatch: the per-port jumps of `BF-<bridge>-IN`/`-OUT` and of
///   ebtables PREROUTING/POSTROUTING become a radix tree per direction
///   (`PortTree`), each of those chains jumping to its root.
///
/// Guest names must be short enough (20 characters) to be their chains' and sets' names.
public enum NotrackOracle {
    public static func expected(fromClassic classic: KernelDumps) -> KernelDumps {
        var result = classic
        var created: [String: String] = [:]          // set name -> family
        var members: [String: [String]] = [:]
        for line in classic.ipset {
            let words = line.split(separator: " ").map(String.init)
            if words.first == "create", words.count > 4 { created[words[1]] = words[4] }
            if words.first == "add", words.count == 3 { members[words[1], default: []].append(words[2]) }
        }
        let guests = created.keys.filter { $0.hasPrefix("i-") && created[$0] == "inet" }.sorted()
        var sets: [String: [String]] = ["cs_notrack": [], "cs_tracked": [], "cs_notrack6": [], "cs_tracked6": []]
        for guest in guests {
            precondition(guest.count <= 20, "the oracle takes guest names of up to 20 characters: \(guest)")
            for (family, filter, set, suffix) in [("inet", classic.iptables["filter"] ?? "", guest, ""),
                                                  ("inet6", classic.ip6tables["filter"] ?? "", guest + "-6", "6")] {
                guard created[set] == family else { continue }
                let which = isOpen(guest, in: filter) ? "cs_notrack" : "cs_tracked"
                sets[which + suffix]! += members[set] ?? []
            }
        }
        for (name, family) in [("cs_notrack", "inet"), ("cs_tracked", "inet"), ("cs_notrack6", "inet6"), ("cs_tracked6", "inet6")] {
            result.ipset.append("create \(name) hash:ip family \(family) hashsize 1024 maxelem 65536 bucketsize 12")
            result.ipset += sets[name]!.map { "add \(name) \($0)" }
        }
        result.ipset.sort()

        result.iptables["filter"] = PortTree.iptables(withoutNewState(classic.iptables["filter"] ?? ""))
        result.ip6tables["filter"] = PortTree.iptables(withoutNewState(classic.ip6tables["filter"] ?? ""))
        if (classic.iptables["filter"] ?? "").contains(":BF-") {
            result.ebtables = PortTree.ebtables(classic.ebtables)
        }
        let metadataReturns = (classic.iptables["nat"] ?? "").split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("-A PREROUTING "), let dnat = line.range(of: " -j DNAT ") else { return nil }
            return String(line[..<dnat.lowerBound]) + " -j RETURN"
        }
        result.iptables["raw"] = appending(metadataReturns + notrackRules(""), toRaw: classic.iptables["raw"] ?? "")
        result.ip6tables["raw"] = appending(notrackRules("6"), toRaw: classic.ip6tables["raw"] ?? "")
        return result
    }

    private static func isOpen(_ guest: String, in filter: String) -> Bool {
        let lines = filter.split(separator: "\n")
        let ingressAll = lines.contains { $0 == "-A \(guest) -m state --state NEW -j ACCEPT" }
        let egress = lines.filter { $0.hasPrefix("-A \(guest)-eg ") }
        let egressOpen = egress.last == "-A \(guest)-eg -j RETURN" || egress.contains { $0 == "-A \(guest)-eg -m state --state NEW -j RETURN" }
        return ingressAll && egressOpen
    }

    private static func withoutNewState(_ table: String) -> String {
        table.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let chain = line.hasPrefix("-A ") ? line.dropFirst(3).prefix { $0 != " " } : ""
            guard chain.hasPrefix("i-"), !chain.hasSuffix("-def") else { return String(line) }
            return line.replacingOccurrences(of: " -m state --state NEW", with: "")
        }.joined(separator: "\n")
    }

    private static func notrackRules(_ suffix: String) -> [String] {
        ["-A PREROUTING -m set --match-set cs_notrack\(suffix) dst -m set ! --match-set cs_tracked\(suffix) src -j CT --notrack",
         "-A PREROUTING -m set --match-set cs_notrack\(suffix) src -m set ! --match-set cs_tracked\(suffix) dst -m addrtype ! --dst-type LOCAL -j CT --notrack"]
    }

    private static func appending(_ rules: [String], toRaw table: String) -> String {
        guard let commit = table.range(of: "COMMIT\n", options: .backwards) else { return table }
        return String(table[..<commit.lowerBound]) + rules.map { $0 + "\n" }.joined() + "COMMIT\n"
    }
}
