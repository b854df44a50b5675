import Foundation
import Testing
import SecurityGroupsCore
import TestSupport

/// The agent's commands in the `native` layout (`layout = native`): each
/// changes only its VMs' share of our tables, and what they leave is what a
/// whole host's load of the same recorded state leaves (ports numbered
/// apart). They print and exit as the script does.
@Suite(.serialized) struct NativeAgentCommandsTests {
    @Test(arguments: ParityTests.scenarios)
    func commandsLeaveWhatAWholeHostLoadWould(scenario: String) throws {
        let replay = try ScenarioReplay(layout: .native)
        try replay.run(scenario)
        let recorded = try ScenarioReplay.recorded(scenario)
        try #require(recorded.count == replay.results.count)
        for (result, script) in zip(replay.results, recorded) where !result.command.contains("verify_network_rules") {
            #expect(result.status == script.status, "\(result.command): exit \(result.status), the script's \(script.status)")
            if !result.command.contains("get_rule_logs_for_vms") { #expect(result.stdout == script.stdout, "\(result.command)") }
        }
        let commanded = try Self.tables(replay.namespace)
        #expect(commanded.keys.contains("bridge-cloudstack_sg map in-ports") && commanded.count > 30, "\(commanded.keys.sorted())")
        #expect(try !replay.namespace.run("/usr/sbin/iptables-nft-save").contains("BF-"), "nothing in the iptables tables")
        // The same host loaded whole, from what the commands recorded.
        let host = try Self.recordedHost(replay)
        let apply = try replay.agent(["apply", "--layout", "native", "--host", host.path])
        try #require(apply.status == 0, "\(apply.stderr)")
        let loaded = try Self.tables(replay.namespace)
        #expect(Self.difference(commanded, loaded) == "", "\(scenario)")
    }

    /// A VM with the metadata redirect (a chain of its port's behind the
    /// nat map) goes without a trace: its chains, its map elements, its ids.
    @Test func destroyingAVMWithTheMetadataRedirectLeavesNothingOfIt() throws {
        let replay = try ScenarioReplay(layout: .native)
        try replay.run("post-default")
        #expect(try replay.namespace.run("/usr/sbin/nft", ["list", "chain", "ip", NativeRuleset.tableName, "nat-PREROUTING-vnet7"])
            .contains("dnat to 10.1.0.2:80"))
        let destroyed = try replay.agent(["destroy_network_rules_for_vm", "--vmname", "i-2-7-VM", "--vif", "vnet7"])
        try #require(destroyed.status == 0, "\(destroyed.stderr)")
        let tables = try Self.tables(replay.namespace)
        let leftovers = tables.filter { key, elements in
            key.contains("i-2-7") || key.contains("vnet7") || elements.contains { $0.contains("i-2-7") || $0.contains("vnet7") || $0.contains("10.1.0.7") }
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(tables["ip-cloudstack_sg map nat-PREROUTING-ports"] == [], "\(tables["ip-cloudstack_sg map nat-PREROUTING-ports"] ?? [])")
    }

    /// verify_network_rules answers from our tables: 0 when the NIC's share
    /// is there, and the script's exit for the first piece missing: 4 for a
    /// vif without an id (the one libvirt reports, no rules of its own), 5
    /// for the bridge family's dispatch, 2 for an address.
    @Test func verifyAsksOurTables() throws {
        let replay = try ScenarioReplay(layout: .native)
        try replay.run("verify")
        let verifies = replay.results.filter { $0.command.contains("verify_network_rules") }
        #expect(verifies.count == 2)
        #expect(verifies[0].status == 0 && verifies[0].stdout.isEmpty, "\(verifies[0].stdout)")
        #expect(verifies[1].status == 4 && verifies[1].stdout == "Cannot find rule 'in-ports: \"testnet0\"'\n", "\(verifies[1].stdout)")
        let verify = ["verify_network_rules", "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmip6", "2001:db8::7",
                      "--vmmac", "02:00:00:00:00:07", "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "10.1.0.71;"]
        _ = try replay.namespace.run("/usr/sbin/nft", ["delete", "element", "bridge", NativeRuleset.tableName, "PREROUTING-ports", "{ \"vnet7\" }"])
        var result = try replay.agent(verify)
        #expect(result.status == 5 && result.stdout == "Rule 'PREROUTING-ports: \"vnet7\" : jump i-2-7-VM-in' is not found\n", "\(result.stdout)")
        _ = try replay.namespace.run("/usr/sbin/nft", ["delete", "element", "ip", NativeRuleset.tableName, "i-2-7-VM", "{ 10.1.0.71 }"])
        result = try replay.agent(verify)
        #expect(result.status == 2 && result.stdout == "vm ip 10.1.0.71 is not found\n", "\(result.stdout)")
    }

    /// cleanup_rules finds a VM nothing recorded (its state file lost) by its
    /// chains in our tables, and its ports by the bridge table's map, and
    /// leaves nothing of it.
    @Test func cleanupRemovesAnUnrecordedVMFromOurTables() throws {
        let replay = try ScenarioReplay(layout: .native)
        try replay.run("v4-basic")
        try FileManager.default.removeItem(at: replay.directory.appendingPathComponent("state/i-2-7-VM.json"))
        try replay.remove("i-2-7-VM")
        let cleanup = try replay.agent(["cleanup_rules"])
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        let tables = try Self.tables(replay.namespace)
        let leftovers = tables.filter { key, elements in
            key.contains("i-2-7") || elements.contains { $0.contains("i-2-7") || $0.contains("vnet7") || $0.contains("10.1.0.7") }
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// A vif name libvirt gives again: a VM new on the host takes a new id
    /// for it, so an element a VM before it left keyed by the old id (here
    /// put back by hand after the destroy) never speaks for its packets.
    @Test func aNewVMTakesANewIDForAVifNameGivenAgain() throws {
        let replay = try ScenarioReplay(layout: .native)
        try replay.run("v4-basic")
        func id() throws -> String? {
            let map = try replay.namespace.run("/usr/sbin/nft", ["list", "map", "bridge", NativeRuleset.tableName, "in-ports"])
            return map.components(separatedBy: "\"vnet7\" : ").dropFirst().first?.prefix { $0.isHexDigit || $0 == "x" }.description
        }
        let old = try #require(try id())
        #expect(try replay.agent(["destroy_network_rules_for_vm", "--vmname", "i-2-7-VM", "--vif", "vnet7"]).status == 0)
        _ = try replay.namespace.run("/usr/sbin/nft", ["add", "element", "bridge", NativeRuleset.tableName, "in-ports", "{ \"vnet7\" : \(old) }"])
        try replay.define("i-2-9-VM", nics: [(bridge: "cloudbr0", dev: "vnet7", mac: "02:00:00:00:00:09")])
        let started = try replay.agent(["default_network_rules", "--vmname", "i-2-9-VM", "--vmid", "9", "--vmip", "10.1.0.9",
                                        "--vmmac", "02:00:00:00:00:09", "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "0;", "--isFirstNic"])
        #expect(started.status == 0, "\(started.stderr)")
        let new = try #require(try id())
        #expect(new != old, "vnet7 kept \(old)")
    }

    /// The state store's VMs as one host file.
    static func recordedHost(_ replay: ScenarioReplay) throws -> URL {
        var host = HostState(bridges: [], vms: [])
        let state = replay.directory.appendingPathComponent("state")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: state.path)) ?? []
        for file in files.filter({ $0.hasSuffix(".json") }).sorted() {
            let recorded = try HostFile.decode(Data(contentsOf: state.appendingPathComponent(file)))
            host.bridges += recorded.bridges.filter { bridge in !host.bridges.contains { $0.name == bridge.name } }
            host.vms += recorded.vms
        }
        let path = replay.directory.appendingPathComponent("recorded-host.json")
        try HostFile.encode(host).write(to: path)
        return path
    }

    /// Our three tables as nft lists them, each chain's rules and each set's
    /// elements, with every port id replaced by its port's name (the
    /// commands number ports as they come, a whole host by name).
    static func tables(_ namespace: NetworkNamespace) throws -> [String: [String]] {
        var text = ""
        for family in ["ip", "ip6", "bridge"] {
            let listing = try namespace.run("/usr/sbin/nft", ["list", "table", family, NativeRuleset.tableName])
            text += listing.replacingOccurrences(of: "table \(family) ", with: "table \(family)-")
        }
        // "vnet7" : 0x00000005 in in-ports: id 5 is vnet7.
        var names: [String: String] = [:]
        if let inPorts = text.range(of: "map in-ports {") {
            let block = text[inPorts.upperBound...].prefix { $0 != "}" }
            for pair in block.components(separatedBy: "elements = {").last!.split(separator: ",") {
                let parts = pair.split(separator: ":").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                guard parts.count == 2, let id = UInt32(parts[1].dropFirst(2), radix: 16) else { continue }
                names[String(id)] = parts[0]
            }
        }
        func named(_ word: Substring) -> String {
            if word.hasPrefix("0x"), let id = UInt32(word.dropFirst(2), radix: 16), let name = names[String(id)] { return "<\(name)>" }
            let pieces = word.split(separator: ":")
            if pieces.count == 2, pieces[0] == "0", let id = UInt32(pieces[1], radix: 16), let name = names[String(id)] { return "<\(name)>" }
            return String(word)
        }
        var objects: [String: [String]] = [:]
        var current: String?
        var table = ""
        var pending = ""
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("table ") {
                table = String(line.dropFirst(6).dropLast(2))
            } else if line.hasPrefix("chain ") || line.hasPrefix("set ") || line.hasPrefix("map ") {
                current = "\(table) \(line.dropLast(2))"
                objects[current!] = []
            } else if line == "}" {
                current = nil
            } else if let object = current, !line.isEmpty, !line.hasPrefix("type ") && !line.hasPrefix("flags ") && line != "auto-merge" {
                // Elements may run over several lines: gather them, then split one per entry.
                pending += (pending.isEmpty ? "" : " ") + line
                guard !pending.hasPrefix("elements = {") || pending.hasSuffix("}") else { continue }
                let words = { (text: String) in text.split(separator: " ").map(named).joined(separator: " ") }
                if pending.hasPrefix("elements = {") {
                    let inner = pending.dropFirst("elements = {".count).dropLast().trimmingCharacters(in: .whitespaces)
                    objects[object]! += inner.components(separatedBy: ", ").map { words($0.trimmingCharacters(in: .whitespaces)) }
                    objects[object]!.sort()
                } else {
                    objects[object]!.append(words(pending))
                }
                pending = ""
            }
        }
        objects.removeValue(forKey: "bridge-cloudstack_sg set \(NativeRuleset.nextPortIDSet)")
        return sharedChainsByContent(objects)
    }

    /// Chains shared by content (`SharedChains`) are named by a digest of
    /// their rules, port ids included: named here by their rules as listed
    /// above (ports by name), so hosts that numbered ports differently compare.
    private static func sharedChainsByContent(_ objects: [String: [String]]) -> [String: [String]] {
        var labels: [String: String] = [:]
        func label(_ table: String, _ chain: String) -> String {
            if let known = labels["\(table) \(chain)"] { return known }
            let text = "shared{" + (objects["\(table) chain \(chain)"] ?? []).map { relabel($0, table) }.joined(separator: "; ") + "}"
            labels["\(table) \(chain)"] = text
            return text
        }
        // Their sets of ports' own addresses, by what they hold.
        func setLabel(_ table: String, _ set: String) -> String {
            "@own{" + (objects["\(table) set \(set)"] ?? []).joined(separator: ", ") + "}"
        }
        func relabel(_ line: String, _ table: String) -> String {
            line.split(separator: " ").map { word in
                if word.hasPrefix(SharedChains.prefix) { return label(table, String(word)) }
                if word.hasPrefix("@" + SharedChains.ownAddressPrefix) { return setLabel(table, String(word.dropFirst())) }
                return String(word)
            }.joined(separator: " ")
        }
        var renamed: [String: [String]] = [:]
        for (key, lines) in objects {
            let parts = key.split(separator: " ", maxSplits: 2).map(String.init)
            let table = parts[0]
            var name = key
            if parts.count == 3, parts[1] == "chain", parts[2].hasPrefix(SharedChains.prefix) { name = "\(table) chain \(label(table, parts[2]))" }
            if parts.count == 3, parts[1] == "set", parts[2].hasPrefix(SharedChains.ownAddressPrefix) { name = "\(table) set \(setLabel(table, parts[2]))" }
            let relabeled = lines.map { relabel($0, table) }
            // A default chain's entries (one per port and carrier) in any order: a packet takes one of each carrier.
            let entries = relabeled.allSatisfy { ($0.hasPrefix("meta mark <") || $0.hasPrefix("meta priority <")) && $0.contains(" jump shared{") }
            renamed[name] = entries ? relabeled.sorted() : relabeled
        }
        return renamed
    }

    static func difference(_ left: [String: [String]], _ right: [String: [String]]) -> String {
        Set(left.keys).union(right.keys).sorted().compactMap { key in
            left[key] == right[key] ? nil : "\(key): \(left[key] ?? ["(none)"]) != \(right[key] ?? ["(none)"])"
        }.joined(separator: "\n")
    }
}
