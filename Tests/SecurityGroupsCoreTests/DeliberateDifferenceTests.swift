import Testing
@testable import SecurityGroupsCore

/// Where `security_group.py` leaves a broken or half-done state, the
/// renderer produces the clean state the script intended. Each difference
/// is pinned here with the script behaviour it departs from.
@Suite struct DeliberateDifferenceTests {
    /// The script names the chains of a long VM name truncated in
    /// default_network_rules but untruncated in add_network_rules, so the
    /// rules go nowhere, and names ebtables chains past ebtables-nft's 28
    /// characters. A name over 20 characters gets the names of its short
    /// form in every command (see NetfilterNamesTests), rules included.
    @Test func longNamesGetShortFormNamesEverywhere() throws {
        let name = "i-2-7-abcdefghijklmnopqrstuvwxyz"
        let vm = TestHosts.guest(name, nics: [TestHosts.nic(7, ipv4: "10.1.0.7")], rules: "I:tcp;22;22;0.0.0.0/0,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;")
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .classic)
        let names = NetfilterNames(vm.name)
        let short = NetfilterNames.shortForm(name)
        #expect(names.vmChain == short && names.egressChain == short + "-eg")
        #expect(ruleset.ipv4.filter.chains[name] == nil && ruleset.ipv4.filter.chains[String(name.prefix(24))] == nil)
        #expect(TestHosts.lines(ruleset.ipv4.filter, names.vmChain) == [
            "-A \(short) -p tcp -m tcp --dport 22 -m state --state NEW -j ACCEPT",
            "-A \(short) -j DROP",
        ])
        #expect(TestHosts.lines(ruleset.ipv4.filter, names.egressChain) == [
            "-A \(short)-eg -p tcp -m tcp --dport 443 -m state --state NEW -j RETURN",
            "-A \(short)-eg -j DROP",
        ])
        #expect(ruleset.ebtables.chains.keys.filter { !EbtablesTable.builtinChains.contains($0) }.sorted()
            == names.ebtablesChains.sorted())
        #expect(names.ebtablesChains.allSatisfy { $0.count <= 28 })
    }

    /// An egress rule whose only CIDR is no CIDR (`null/32`: the allowed
    /// group's members have no IPv4 address) allows nothing. The script then
    /// counts no IPv4 egress rule and leaves IPv4 egress open; we keep it
    /// closed, as a rule that names the family means default deny.
    @Test func egressRuleOfUnusableCIDRsKeepsEgressClosed() throws {
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7")], rules: "E:tcp;80;80;null/32,NEXT;")
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .classic)
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-VM-eg") == ["-A i-2-7-VM-eg -j DROP"])
        #expect(TestHosts.lines(ruleset.ipv6.filter, "i-2-7-VM-eg") == ["-A i-2-7-VM-eg -j RETURN"])
    }

    /// default_network_rules for a second NIC appends another `-j DROP` to
    /// the VM chain (removed by the next add_network_rules). One is enough.
    @Test func secondNICAddsNoSecondDrop() {
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7"), TestHosts.nic(17, ipv4: "10.1.1.7")], rules: nil)
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .classic)
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-VM") == ["-A i-2-7-VM -j DROP"])
        #expect(TestHosts.lines(ruleset.ipv6.filter, "i-2-7-VM") == ["-A i-2-7-VM -j DROP"])
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-VM-eg").isEmpty)
    }

    /// An ICMP rule with a type and code -1 ("any code") makes the script run
    /// `--icmp-type 8/-1`, which iptables refuses, aborting the whole rule
    /// set. We match the type with any code.
    @Test func icmpTypeWithAnyCode() {
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7", ipv6: "2001:db8::7")],
                                 rules: "I:icmp;8;-1;0.0.0.0/0,::/0,NEXT;I:icmp;3;1;10.0.0.0/8,NEXT;")
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .classic)
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-VM") == [
            "-A i-2-7-VM -s 10.0.0.0/8 -p icmp -m icmp --icmp-type 3/1 -j ACCEPT",
            "-A i-2-7-VM -p icmp -m icmp --icmp-type 8 -j ACCEPT",
            "-A i-2-7-VM -j DROP",
        ])
        #expect(TestHosts.lines(ruleset.ipv6.filter, "i-2-7-VM") == [
            "-A i-2-7-VM -p ipv6-icmp -m icmp6 --icmpv6-type 8 -j ACCEPT",
            "-A i-2-7-VM -j DROP",
        ])
    }

    /// network_rules_vmSecondaryIp tries ARP (ebtables) rules for an IPv6
    /// secondary address, which fail. IPv6 addresses get no ARP rules.
    @Test func secondaryIPv6GetsNoARPRules() {
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7", secondary: ["10.1.0.99", "2001:db8::99"])], rules: nil)
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .classic)
        let ebtables = EbtablesSaveFormat.text(ruleset.ebtables)
        #expect(!ebtables.contains("2001:db8::99"))
        #expect(ebtables.contains("--arp-ip-dst 10.1.0.99"))
        #expect(ruleset.ipsets.first { $0.name == "i-2-7-VM-6" }?.members.map(\.description) == ["fe80::ff:fe00:7", "2001:db8::99"])
        #expect(ruleset.ipsets.first { $0.name == "i-2-7-VM" }?.members.map(\.description) == ["10.1.0.7", "10.1.0.99"])
    }

    /// post_default_network_rules without --dhcpSvr (the agent leaves it out
    /// when it has none): the script's string concatenation fails for the
    /// DNAT and the MAC rewrite, and its ARP drop then lands after the ARP
    /// Request accept. We skip the redirect and keep the drop in its place.
    @Test func metadataWithoutDHCPServer() {
        let metadata = MetadataRedirect(dhcpServer: nil, hostIP: IPv4Address("10.1.0.2")!, hostMAC: MACAddress("02:00:00:00:ff:01")!)
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7", metadata: metadata)], rules: nil)
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .notrack)
        #expect(ruleset.ipv4.nat.isEmpty)
        #expect(ruleset.ipsets.first { $0.name == NetfilterNames.metadataSet }?.members == [])
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-def")[3] == "-A i-2-7-def -s 10.1.0.7/32 -m physdev --physdev-in vnet7 --physdev-is-bridged -j ACCEPT")
        let inChain = (ruleset.ebtables.chains["i-2-7-VM-in"] ?? []).map { EbtablesSaveFormat.line($0, chain: "i-2-7-VM-in") }
        #expect(inChain == [
            "-A i-2-7-VM-in -j i-2-7-VM-in-src",
            "-A i-2-7-VM-in -p ARP -j i-2-7-VM-in-ips",
            "-A i-2-7-VM-in -p ARP --arp-ip-src ! 10.1.0.7 -j DROP",
            "-A i-2-7-VM-in -p ARP --arp-op Request -j ACCEPT",
            "-A i-2-7-VM-in -p ARP --arp-op Reply -j ACCEPT",
            "-A i-2-7-VM-in -p ARP -j DROP",
        ])
    }
}
