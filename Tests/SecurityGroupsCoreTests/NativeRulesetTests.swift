import Testing
@testable import SecurityGroupsCore

/// The `native` layout's translation, on every reference host, without a
/// kernel (NativeTablesTests loads the same tables into one).
@Suite struct NativeRulesetTests {
    static func native(_ scenario: String) throws -> NativeRuleset {
        try NativeRuleset(Renderer.render(try GoldenFixtures.host(scenario), layout: .native))
    }

    /// Each NIC's port has an id, and its packets reach the VM's chains by
    /// one map element per table and direction: no per-port rule anywhere.
    @Test(arguments: GoldenFixtures.scenarios)
    func everyPortIsDispatchedByMapElements(scenario: String) throws {
        let host = try GoldenFixtures.host(scenario)
        let native = try Self.native(scenario)
        let (ipv4, ipv6, bridge) = (native.tables[0].text, native.tables[1].text, native.tables[2].text)
        #expect(ipv4.hasPrefix("table ip cloudstack_sg {") && ipv6.hasPrefix("table ip6 cloudstack_sg {")
                    && bridge.hasPrefix("table bridge cloudstack_sg {"))
        #expect(Set(native.ports.ids.values).count == native.ports.ids.count && !native.ports.ids.values.contains(0))
        for vm in host.vms {
            let names = NetfilterNames(vm.name)
            let target = vm.name.kind == .system ? names.vmChain : names.defaultChain
            for nic in vm.nics {
                let port = nic.vif.rawValue
                let mark = Self.mark(try #require(native.ports.ids[port], "\(scenario) \(port)"))
                let priority = Self.priority(native.ports.ids[port]!)
                let bridgeChain = NetfilterNames.bridgeChain(nic.bridge)
                for table in vm.name.kind == .system ? [ipv4] : [ipv4, ipv6] {
                    #expect(Self.elements(of: "\(bridgeChain)-IN-ports", in: table).contains("\(mark) : jump \(target)"), "\(scenario) \(port)")
                    #expect(Self.elements(of: "\(bridgeChain)-OUT-ports", in: table).contains("\(priority) : jump \(target)"), "\(scenario) \(port)")
                }
                guard vm.name.kind == .user else { continue }
                #expect(Self.elements(of: "in-ports", in: bridge).contains("\"\(port)\" : \(mark)"))
                #expect(Self.elements(of: "out-ports", in: bridge).contains("\"\(port)\" : \(priority)"))
                #expect(Self.elements(of: "PREROUTING-ports", in: bridge).contains("\"\(port)\" : jump \(names.ebtablesIn)"))
                #expect(Self.elements(of: "POSTROUTING-ports", in: bridge).contains("\"\(port)\" : jump \(names.ebtablesOut)"))
            }
        }
        for table in native.tables.map(\.text) {
            #expect(!table.contains("physdev") && !table.contains("sg-in") && !table.contains("sg-out"), "\(scenario)")
        }
    }

    /// ipsets become nft sets with the same members; a set of addresses on
    /// ports becomes two, keyed by the in-port's and the out-port's id; a
    /// VM's own address sets, which its rules test on its ports, become
    /// elements of the two shared sets of addresses by port (and stay, as
    /// the record of them).
    @Test(arguments: GoldenFixtures.scenarios)
    func setsKeepTheirMembers(scenario: String) throws {
        let host = try GoldenFixtures.host(scenario)
        let ruleset = Renderer.render(host, layout: .native)
        let native = try NativeRuleset(ruleset)
        let ownSets = Dictionary(uniqueKeysWithValues: host.vms.flatMap { vm in
            let names = NetfilterNames(vm.name)
            return [(names.ipv4Set, vm), (names.ipv6Set, vm)]
        })
        for set in ruleset.ipsets {
            let table = native.tables[set.family == .ipv4 ? 0 : 1].text
            if let vm = ownSets[set.name] {
                // Kept whole, with no rule naming it: what a command reads to take the VM's addresses out again.
                #expect(Self.elements(of: set.name, in: table) == set.members.map(\.description) && !table.contains("@\(set.name) "),
                        "\(scenario) \(set.name)")
                let byPort = Self.elements(of: "port-addresses-in", in: table)
                for nic in vm.nics {
                    let mark = Self.mark(native.ports.ids[nic.vif.rawValue]!)
                    for member in set.members { #expect(byPort.contains("\(mark) . \(member)"), "\(scenario) \(set.name) \(nic.vif)") }
                }
            } else if set.type == .hashNetIface {
                for (suffix, text) in [("-in", Self.mark), ("-out", Self.priority)] {
                    let expected = set.members.map { member in
                        "\(IPSet.Member(member.address)) . \(text(native.ports.ids[member.port!]!))"
                    }
                    #expect(Self.elements(of: set.name + suffix, in: table) == expected, "\(scenario) \(set.name)\(suffix)")
                }
            } else {
                #expect(Self.elements(of: set.name, in: table) == set.members.map(\.description), "\(scenario) \(set.name)")
            }
        }
    }

    /// Keying by port keeps a lookup's meaning only where one set is tested
    /// on a port: a second set tested on the same port keeps both named.
    @Test func twoSetsTestedOnOnePortStayNamed() throws {
        var ruleset = Renderer.render(try GoldenFixtures.host("v4-basic"), layout: .native)
        let vif = try #require(try GoldenFixtures.host("v4-basic").vms.first?.nics.first?.vif.rawValue)
        ruleset.ipsets.append(IPSet(name: "other", type: .hashIP, family: .ipv4, addresses: [.v4(IPv4Address("192.0.2.1")!)]))
        ruleset.ipv4.filter.chains["i-2-7-def", default: []].insert(
            IPTablesRule(matches: [.physdev(PhysdevMatch(inPort: vif)), .set(SetMatch("other", .source))], target: .drop), at: 0)
        let ipv4 = try NativeRuleset(ruleset).tables[0].text
        #expect(ipv4.contains("ip saddr @other drop") && ipv4.contains("ip saddr != @i-2-7-VM drop") && !ipv4.contains("port-addresses"))
        #expect(Self.elements(of: "i-2-7-VM", in: ipv4) == ["10.1.0.7"] && Self.elements(of: "other", in: ipv4) == ["192.0.2.1"])
    }

    /// A name nft cannot take as a word is refused, naming it.
    @Test func aNameNFTCannotTakeIsRefused() {
        var ruleset = Renderer.render(HostState(bridges: [], vms: []), layout: .native)
        ruleset.ipsets.append(IPSet(name: "bad name", type: .hashIP, family: .ipv4))
        #expect(throws: InputError(field: "nft object name", value: "bad name",
                                   reason: "must be a letter or _ followed by letters, digits, _ . / -")) {
            try NativeRuleset(ruleset)
        }
    }

    /// The rules that only the carriers can say, as nft reads them.
    @Test func physdevMatchesBecomeCarrierTests() {
        let ports = PortIDs(ports: ["eth0", "vnet7"])
        let rule = IPTablesRule(ipProtocol: 17, matches: [.physdev(PhysdevMatch(inPort: "vnet7", isBridged: true)), .udp(PortMatch(destinationPorts: 53...53)),
                                                          .set(SetMatch("i-2-7-VM", .source, inverted: true))], target: .drop)
        #expect(Self.text(rule, .ipv4, ports, keyedByPort: ["i-2-7-VM"])
                    == "meta mark 0x2 meta priority != none udp dport 53 meta mark . ip saddr != @port-addresses-in drop")
        #expect(Self.text(rule, .ipv4, ports) == "meta mark 0x2 meta priority != none udp dport 53 ip saddr != @i-2-7-VM drop")
        let out = IPTablesRule(matches: [.state(.untracked), .physdev(PhysdevMatch(outPort: "eth0", isBridged: true)),
                                         .set(SetMatch("cs_notrack_ports", .source, port: .source))], target: .jump("sg-open-sender"))
        #expect(Self.text(out, .ipv6, ports)
                    == "ct state untracked meta priority 0:1 ip6 saddr . meta mark @cs_notrack_ports-in jump sg-open-sender")
        #expect(Self.text(IPTablesRule(matches: [.physdev(PhysdevMatch(inPort: "tap9"))], target: .accept), .ipv4, ports)
                    == "meta mark 0xffffffff accept", "a port without an id matches nothing")
    }

    static func text(_ rule: IPTablesRule, _ family: AddressFamily, _ ports: PortIDs, keyedByPort: Set<String> = []) -> String {
        NativeText.rule(NativeRules.rule(rule, family, ports: ports, keyedByPort: keyedByPort))
    }

    static func mark(_ id: UInt32) -> String { NativeText.number(id, .mark) }
    static func priority(_ id: UInt32) -> String { NativeText.number(id, .classID) }

    /// The elements of one set or map of a table's text, in order.
    static func elements(of name: String, in table: String) -> [String] {
        guard let start = table.range(of: "\t\(name) {\n") ?? table.range(of: "set \(name) {\n") ?? table.range(of: "map \(name) {\n") else {
            return []
        }
        let block = table[start.upperBound...].prefix { $0 != "}" }
        guard let list = block.range(of: "elements = { ") else { return [] }
        return block[list.upperBound...].prefix { $0 != "}" }.split(separator: ", ").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}
