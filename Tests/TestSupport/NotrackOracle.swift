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
/// - raw PREROUTING: a RETURN for HTTP to the DHCP server addresses of the
///   metadata DNAT rules (set `cs_metadata`), then the two `CT --notrack`
///   rules, in each family;
/// - port dispatch: the per-port jumps of `BF-<bridge>-IN`/`-OUT` and of
///   ebtables PREROUTING/POSTROUTING become a radix tree per direction
///   (`PortTree`), each of those chains jumping to its root (POSTROUTING
///   for ARP only);
/// - the open guests' fast path: `cs_notrack_ports[6]` (`hash:net,iface`,
///   each open guest's addresses on its one port), three rules after the
///   RELATED,ESTABLISHED accept of every `BF-<bridge>`, and the
///   `sg-open-sender` chain;
/// - a guest rule of two or more CIDRs, none of them "any" (its lines differ
///   only in `-s`/`-d`), is one rule matching a `hash:net` set of them (the
///   set match last),
///   `<guest>-i<n>` / `-e<n>` (`-6` for IPv6), numbered per chain in rule
///   order (the script's chains hold rules newest first).
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
        var sets: [String: [String]] = ["cs_notrack": [], "cs_tracked": [], "cs_notrack6": [], "cs_tracked6": [],
                                        "cs_notrack_ports": [], "cs_notrack_ports6": []]
        for guest in guests {
            precondition(guest.count <= 20, "the oracle takes guest names of up to 20 characters: \(guest)")
            for (family, filter, set, suffix) in [("inet", classic.iptables["filter"] ?? "", guest, ""),
                                                  ("inet6", classic.ip6tables["filter"] ?? "", guest + "-6", "6")] {
                guard created[set] == family else { continue }
                let open = isOpen(guest, in: filter)
                sets[(open ? "cs_notrack" : "cs_tracked") + suffix]! += members[set] ?? []
                if open {
                    let port = onlyPort(of: guest, in: filter)
                    sets["cs_notrack_ports" + suffix]! += (members[set] ?? []).map { "\($0),physdev:\(port)" }
                }
            }
        }
        for (name, family) in [("cs_notrack", "inet"), ("cs_tracked", "inet"), ("cs_notrack6", "inet6"), ("cs_tracked6", "inet6")] {
            result.ipset.append("create \(name) hash:ip family \(family) hashsize 1024 maxelem 65536 bucketsize 12")
            result.ipset += sets[name]!.map { "add \(name) \($0)" }
        }
        for (name, family) in [("cs_notrack_ports", "inet"), ("cs_notrack_ports6", "inet6")] {
            result.ipset.append("create \(name) hash:net,iface family \(family) hashsize 1024 maxelem 65536 bucketsize 12")
            result.ipset += sets[name]!.map { "add \(name) \($0)" }
        }
        // The DHCP server of each metadata DNAT, on its port.
        result.ipset.append("create cs_metadata hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12")
        var servers: Set<String> = []
        for line in (classic.iptables["nat"] ?? "").split(separator: "\n") where line.hasPrefix("-A PREROUTING ") && line.contains(" -j DNAT ") {
            let words = line.split(separator: " ")
            let server = String(words[words.firstIndex(of: "-d")! + 1].dropLast(3))
            if servers.insert(server).inserted { result.ipset.append("add cs_metadata \(server)") }
        }
        result.ipset.sort()

        var peerSets: [String] = []
        let filter4 = withPeerSets(withoutNewState(classic.iptables["filter"] ?? ""), guests: guests, suffix: "", sets: &peerSets)
        let filter6 = withPeerSets(withoutNewState(classic.ip6tables["filter"] ?? ""), guests: guests, suffix: "-6", sets: &peerSets)
        result.ipset += peerSets
        result.ipset.sort()
        result.iptables["filter"] = withFastPath(PortTree.iptables(filter4), "")
        result.ip6tables["filter"] = withFastPath(PortTree.iptables(filter6), "6")
        if (classic.iptables["filter"] ?? "").contains(":BF-") {
            result.ebtables = PortTree.ebtables(classic.ebtables)
        }
        let metadataReturn = "-A PREROUTING -p tcp -m tcp --dport 80 -m set --match-set cs_metadata dst -j RETURN"
        result.iptables["raw"] = appending([metadataReturn] + notrackRules(""), toRaw: classic.iptables["raw"] ?? "")
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

    /// Each guest chain's rules of several CIDRs folded into one rule and a set.
    private static func withPeerSets(_ table: String, guests: [String], suffix: String, sets: inout [String]) -> String {
        var lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for guest in guests {
            for (chain, option, letter, flag) in [(guest, "-s", "i", "src"), (guest + "-eg", "-d", "e", "dst")] {
                let prefix = "-A \(chain) "
                func split(_ line: String) -> (key: String, cidr: String?) {
                    var words = line.split(separator: " ").map(String.init)
                    guard let at = words.firstIndex(of: option) else { return (line, nil) }
                    let cidr = words[at + 1]
                    words.removeSubrange(at...(at + 1))
                    return (words.joined(separator: " "), cidr)
                }
                let indexes = lines.indices.filter { lines[$0].hasPrefix(prefix) }
                var groups: [String: [Int]] = [:]
                var order: [String] = []
                for index in indexes {
                    let key = split(lines[index]).key
                    if groups[key] == nil { order.append(key) }
                    groups[key, default: []].append(index)
                }
                let folded = order.filter { key in
                    groups[key]!.count > 1 && groups[key]!.allSatisfy { split(lines[$0]).cidr != nil }
                }
                for (number, key) in folded.reversed().enumerated() {
                    let name = "\(guest)-\(letter)\(number)\(suffix)"
                    sets.append("create \(name) hash:net family \(suffix.isEmpty ? "inet" : "inet6") hashsize 1024 maxelem 65536 bucketsize 12")
                    for index in groups[key]! {
                        let cidr = split(lines[index]).cidr!
                        let host = suffix.isEmpty ? "/32" : "/128"
                        sets.append("add \(name) \(cidr.hasSuffix(host) ? String(cidr.dropLast(host.count)) : cidr)")
                    }
                    var words = key.split(separator: " ").map(String.init)
                    let at = words.firstIndex(of: "-j")!
                    words.insert(contentsOf: ["-m", "set", "--match-set", name, flag], at: at)
                    let members = groups[key]!
                    lines[members[0]] = words.joined(separator: " ")
                    for index in members.dropFirst() { lines[index] = "\u{0}" }
                }
            }
        }
        return lines.filter { $0 != "\u{0}" }.joined(separator: "\n")
    }

    /// The one vif a guest's default chain names.
    private static func onlyPort(of guest: String, in filter: String) -> String {
        let defaultChain = guest.split(separator: "-").dropLast().joined(separator: "-") + "-def"
        let ports = Set(filter.split(separator: "\n").filter { $0.hasPrefix("-A \(defaultChain) ") }.compactMap { line -> String? in
            let words = line.split(separator: " ")
            return words.firstIndex(of: "--physdev-in").map { String(words[$0 + 1]) }
        })
        precondition(ports.count == 1, "the oracle takes open guests with one NIC: \(guest)")
        return ports.first!
    }

    /// Every `BF-<bridge>` with the fast path after its RELATED,ESTABLISHED
    /// accept, and the `sg-open-sender` chain, when the table has a bridge.
    private static func withFastPath(_ table: String, _ suffix: String) -> String {
        var dump = Dump(table)
        let set = "cs_notrack_ports\(suffix)"
        let bridges = dump.userChains.filter { $0.hasPrefix("BF-") && !$0.hasSuffix("-IN") && !$0.hasSuffix("-OUT") }
        guard !bridges.isEmpty else { return table }
        for bridge in bridges {
            var rules = dump.rules[bridge] ?? []
            let uplink = rules.compactMap { rule -> String? in
                let words = rule.split(separator: " ")
                return words.count == 7 && words[2] == "--physdev-out" && words[6] == "ACCEPT" ? String(words[3]) : nil
            }.first
            var fast: [String] = []
            if let uplink {
                fast.append("-m state --state UNTRACKED -m physdev --physdev-in \(uplink) --physdev-is-bridged -m set --match-set \(set) dst,dst -j ACCEPT")
                fast.append("-m state --state UNTRACKED -m physdev --physdev-out \(uplink) --physdev-is-bridged -m set --match-set \(set) src,src -j sg-open-sender")
            }
            fast.append("-m state --state UNTRACKED -m set --match-set \(set) src,src -m set --match-set \(set) dst,dst -j sg-open-sender")
            rules.insert(contentsOf: fast, at: rules.firstIndex(of: "-m state --state RELATED,ESTABLISHED -j ACCEPT")! + 1)
            dump.rules[bridge] = rules
        }
        dump.add("sg-open-sender", policy: "- [0:0]", rules: suffix.isEmpty
            ? ["-p udp -m udp --sport 67 -j RETURN", "-j ACCEPT"]
            : ["-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j RETURN", "-p udp -m udp --sport 547 -j RETURN", "-j ACCEPT"])
        return dump.text(footer: "COMMIT\n")
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
