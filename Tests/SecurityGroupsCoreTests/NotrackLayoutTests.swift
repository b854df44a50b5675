import Testing
import TestSupport
@testable import SecurityGroupsCore

/// The `notrack` layout: classic plus the differences of
/// `shared/docs/notrack-layout.md`, and nothing else.
@Suite struct NotrackLayoutTests {
    private func members(_ ruleset: Ruleset, _ set: String) -> [String] {
        (ruleset.ipsets.first { $0.name == set }?.members ?? []).map(\.description)
    }

    /// For every reference scenario, the rendered notrack state is what an
    /// oracle independent of the renderer derives from the script's own
    /// classic dumps (NotrackOracle).
    @Test(arguments: GoldenFixtures.scenarios)
    func rendersWhatTheOracleDerivesFromTheScript(scenario: String) throws {
        let text = RulesetText(Renderer.render(try GoldenFixtures.host(scenario), layout: .notrack))
        let rendered = KernelDumps(iptables: text.iptables, ip6tables: text.ip6tables, ipset: text.ipset, ebtables: text.ebtables)
        let script = KernelDumps(iptables: try GoldenFixtures.dump(scenario, "iptables.txt"), ip6tables: try GoldenFixtures.dump(scenario, "ip6tables.txt"),
                                 ipset: try GoldenFixtures.dump(scenario, "ipset.txt"), ebtables: try GoldenFixtures.dump(scenario, "ebtables.txt"))
        let expected = NotrackOracle.expected(fromClassic: script)
        #expect(rendered == expected, "\(rendered.difference(from: expected))")
    }

    /// For every reference scenario: filter and nat equal classic except for
    /// `--state NEW` on the guests' allow rules, the port dispatch, the
    /// fast path and peer sets (which the oracle test above checks); the sets
    /// are classic's plus the shared `cs_*` sets; raw holds only the NOTRACK framework.
    @Test(arguments: GoldenFixtures.scenarios)
    func isClassicPlusTheDocumentedDifferences(scenario: String) throws {
        let host = try GoldenFixtures.host(scenario)
        let classic = Renderer.render(host, layout: .classic)
        let notrack = Renderer.render(host, layout: .notrack)
        let guestChains = Set(host.vms.filter { $0.name.kind == .user }.flatMap {
            [NetfilterNames($0.name).vmChain, NetfilterNames($0.name).egressChain]
        })
        // Rules of several CIDRs become set rules (the oracle test checks them): such guests' chains are left out.
        let peerSets = notrack.ipsets.filter { set in host.vms.contains { NetfilterNames($0.name).isPeerSet(set.name) } }
        let folded = Set(host.vms.filter { vm in peerSets.contains { NetfilterNames(vm.name).isPeerSet($0.name) } }.flatMap {
            [NetfilterNames($0.name).vmChain, NetfilterNames($0.name).egressChain]
        })
        func withoutDispatch(_ table: IPTable) -> [String] {
            IPTablesSaveFormat.text(table).split(separator: "\n").filter { line in
                let chain = line.dropFirst(line.hasPrefix("-A ") ? 3 : 1).split(separator: " ").first.map(String.init) ?? ""
                let portJumps = chain.hasPrefix("BF-") && (chain.hasSuffix("-IN") || chain.hasSuffix("-OUT")) && line.hasPrefix("-A ")
                let fastPath = line.contains("cs_notrack_ports") || chain == "sg-open-sender"
                return !portJumps && !fastPath && !InterfaceDispatch.isDispatchChain(chain) && !(line.hasPrefix("-A ") && folded.contains(chain))
            }.map(String.init)
        }
        for family in AddressFamily.allCases {
            let expected = withoutDispatch(classic.iptables(family).filter).map { line in
                let chain = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
                return line.hasPrefix("-A ") && guestChains.contains(chain)
                    ? line.replacingOccurrences(of: " -m state --state NEW", with: "") : String(line)
            }
            #expect(withoutDispatch(notrack.iptables(family).filter) == expected)
            #expect(notrack.iptables(family).nat == classic.iptables(family).nat)
            let raw = TestHosts.lines(notrack.iptables(family).raw, "PREROUTING").filter { !$0.contains("-j RETURN") }
            let suffix = family == .ipv4 ? "" : "6"
            #expect(raw == [
                "-A PREROUTING -m set --match-set cs_notrack\(suffix) dst -m set ! --match-set cs_tracked\(suffix) src -j CT --notrack",
                "-A PREROUTING -m set --match-set cs_notrack\(suffix) src -m set ! --match-set cs_tracked\(suffix) dst -m addrtype ! --dst-type LOCAL -j CT --notrack",
            ])
        }
        let shared = NetfilterNames.notrackSets.count
        #expect(Array(notrack.ipsets.dropFirst(shared)).filter { !peerSets.contains($0) } == classic.ipsets)
        #expect(Set(notrack.ipsets.prefix(shared).map(\.name)) == Set(NetfilterNames.notrackSets))
        #expect(notrack.ebtables.chains.filter { !InterfaceDispatch.isDispatchChain($0.key) } == classic.ebtables.chains)
        // Every guest address is in exactly one of the two sets of its family.
        for vm in host.vms where vm.name.kind == .user {
            for family in AddressFamily.allCases {
                let open = Notrack.isOpen(vm, family)
                for nic in vm.nics {
                    for address in Notrack.addresses(of: nic, family).map(\.description) {
                        #expect(members(notrack, NetfilterNames.notrackSet(family)).contains(address) == open)
                        #expect(members(notrack, NetfilterNames.trackedSet(family)).contains(address) == !open)
                    }
                }
            }
        }
    }

    @Test func allowAllBothWaysIsUntracked() throws {
        let ruleset = Renderer.render(try GoldenFixtures.host("allow-all"), layout: .notrack)
        #expect(members(ruleset, "cs_notrack") == ["10.1.0.7"])
        #expect(members(ruleset, "cs_notrack6") == ["fe80::ff:fe00:7", "2001:db8::7"])
        #expect(members(ruleset, "cs_tracked").isEmpty && members(ruleset, "cs_tracked6").isEmpty)
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-VM") == ["-A i-2-7-VM -j ACCEPT", "-A i-2-7-VM -j DROP"])
        #expect(TestHosts.lines(ruleset.ipv4.filter, "i-2-7-VM-eg") == ["-A i-2-7-VM-eg -j RETURN", "-A i-2-7-VM-eg -j DROP"])
        #expect(TestHosts.lines(ruleset.ipv4.filter, "BF-cloudbr0").first == "-A BF-cloudbr0 -m state --state RELATED,ESTABLISHED -j ACCEPT")
    }

    /// Openness per family, including PR #14100's rule that a one-way
    /// allow-all keeps the VM tracked.
    @Test(arguments: [
        ("I:all;0;0;0.0.0.0/0,::/0,NEXT;", true, true),
        ("I:all;0;0;0.0.0.0/0,::/0,NEXT;E:all;0;0;0.0.0.0/0,::/0,NEXT;", true, true),
        ("I:all;0;0;0.0.0.0/0,NEXT;", true, false),
        ("I:all;0;0;0.0.0.0/0,::/0,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;", false, true),
        ("I:all;0;0;0.0.0.0/0,::/0,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;E:all;0;0;0.0.0.0/0,NEXT;", true, true),
        ("I:all;0;0;10.0.0.0/8,::/0,NEXT;", false, true),
        ("I:tcp;1;65535;0.0.0.0/0,NEXT;I:udp;1;65535;0.0.0.0/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;", false, false),
        ("E:all;0;0;0.0.0.0/0,::/0,NEXT;", false, false),
        ("", false, false),
    ])
    func openness(rules: String, ipv4: Bool, ipv6: Bool) {
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7", ipv6: "2001:db8::7")], rules: rules)
        #expect(Notrack.isOpen(vm, .ipv4) == ipv4)
        #expect(Notrack.isOpen(vm, .ipv6) == ipv6)
    }

    /// A VM whose rules have not arrived, and system VMs, stay tracked or
    /// out of the sets altogether.
    @Test func pendingAndSystemVMsAreNeverUntracked() throws {
        let pending = TestHosts.guest("i-2-8-VM", nics: [TestHosts.nic(8, ipv4: "10.1.0.8")], rules: nil)
        let router = VirtualMachine(name: try VMName("r-5-VM"), nics: [NIC(vif: try InterfaceName("vnet5", field: "vif"), bridge: TestHosts.bridge.name)])
        let ruleset = Renderer.render(TestHosts.host(pending, router), layout: .notrack)
        #expect(members(ruleset, "cs_tracked") == ["10.1.0.8"])
        #expect(members(ruleset, "cs_notrack").isEmpty)
        #expect(members(ruleset, "cs_tracked6") == ["fe80::ff:fe00:8"])
    }

    /// Metadata HTTP is DNATed, so it must stay tracked: a RETURN ahead of
    /// the NOTRACK rules.
    @Test func metadataRedirectStaysTracked() throws {
        let metadata = MetadataRedirect(dhcpServer: IPv4Address("10.1.0.1")!, hostIP: IPv4Address("10.1.0.2")!,
                                        hostMAC: MACAddress("02:00:00:00:ff:01")!)
        let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7", metadata: metadata)],
                                 rules: "I:all;0;0;0.0.0.0/0,::/0,NEXT;")
        let ruleset = Renderer.render(TestHosts.host(vm), layout: .notrack)
        #expect(TestHosts.lines(ruleset.ipv4.raw, "PREROUTING").first
            == "-A PREROUTING -p tcp -m tcp --dport 80 -m set --match-set cs_metadata dst -j RETURN")
        #expect(members(ruleset, "cs_metadata") == ["10.1.0.1"])
        #expect(TestHosts.lines(ruleset.ipv4.nat, "PREROUTING")
            == ["-A PREROUTING -d 10.1.0.1/32 -p tcp -m physdev --physdev-in vnet7 -m tcp --dport 80 -j DNAT --to-destination 10.1.0.2:80"])
        #expect(TestHosts.lines(ruleset.ipv6.raw, "PREROUTING").count == 2)
    }

    /// A host with no bridge framework has nothing to exempt.
    @Test func emptyHostHasNoNotrackObjects() {
        let ruleset = Renderer.render(HostState(), layout: .notrack)
        #expect(ruleset.ipsets.isEmpty)
        #expect(ruleset.ipv4.raw.isEmpty && ruleset.ipv6.raw.isEmpty)
    }
}
