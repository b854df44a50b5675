import Foundation
import Testing
@testable import SecurityGroupsAgent
import SecurityGroupsCore
import SecurityGroupsKernel

/// The commands that program one guest, each branch, over an in-memory host.
@Suite struct GuestCommandsTests {
    typealias H = AgentHarness
    private let ssh = "I:tcp;22;22;0.0.0.0/0,NEXT;"
    private let web = "I:tcp;80;80;0.0.0.0/0,NEXT;"

    @Test(arguments: Layout.iptablesLayouts) func defaultRulesProgramANewGuest(layout: Layout) throws {
        let h = try H(layout: layout, domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        #expect(h.host.lines("i-2-7-def")?.isEmpty == false)
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7"])
        #expect(h.host.ebtables["i-2-7-VM-in-ips"]?.contains("-p ARP -s 02:00:00:00:00:07 --arp-ip-src 10.1.0.7 --arp-mac-src 02:00:00:00:00:07 -j RETURN") == true)
        // The rule log the management server reads: the domain's id (the test driver's first is 1).
        #expect(h.file("run/i-2-7-VM.log") == "i-2-7-VM,7,10.1.0.7,\(h.id("i-2-7-VM")),_initial_,-1\n")
        let record = try #require(h.file("state/i-2-7-VM.json"))
        #expect(record.contains("\"layout\" : \"\(layout.rawValue)\"") || record.contains("\"layout\":\"\(layout.rawValue)\""))
        #expect(h.host.transactions.count == 1)
    }

    @Test func defaultRulesRefuseASystemVMAndChangeNothing() throws {
        let h = try H(domains: [])
        let error = try #require(try h.failure(.defaultNetworkRules, "--vmname r-4-VM --vif vnet4 --brname cloudbr0 --vmmac 02:00:00:00:00:04 --isFirstNic"))
        #expect(error.kind == .badInput && error.description.contains("r-4-VM"))
        #expect(h.host.transactions.isEmpty && !h.exists("state/r-4-VM.json"))
    }

    @Test func checkRepairsARecordedGuestWithoutNewLogs() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.addNetworkRules, H.addRules(7, rules: ssh))
        let log = h.file("run/i-2-7-VM.log")
        h.host.ipsets.removeAll { $0.name == "i-2-7-VM" }
        try h.run(.defaultNetworkRules, H.defaultRules(7, first: false, extra: "--check"))
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7"])
        #expect(h.file("run/i-2-7-VM.log") == log)
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 22") } == true)
    }

    @Test func checkLeavesTheScriptsGuestAlone() throws {
        let h = try H(domains: [H.vm7])
        try scriptProgrammed(h, vm: 7)
        let before = h.host.text
        try h.run(.defaultNetworkRules, H.defaultRules(7, first: false, extra: "--check"))
        #expect(h.host.text == before && h.host.transactions.count == 1)
        #expect(!h.exists("state/i-2-7-VM.json"))
    }

    @Test func aFurtherNICOfTheScriptsGuestTakesItOver() throws {
        var vm = H.vm7
        vm.interfaces.append(("02:00:00:00:01:07", "cloudbr1", "vnet17"))
        let h = try H(layout: .classic, domains: [vm])
        try scriptProgrammed(h, vm: 7, rules: ssh)
        try h.run(.defaultNetworkRules, H.defaultRules(7, vif: "vnet17", mac: "02:00:00:00:01:07", ip: "10.2.0.7", first: false, bridge: "cloudbr1"))
        let loaded = StateStore(directory: "\(h.directory)/state").load(try VMName("i-2-7-VM"))
        let record = try #require(loaded.host.vms.first)
        #expect(record.nics.map(\.vif.rawValue) == ["vnet7", "vnet17"])
        #expect(record.nics[0].ipv4 == IPv4Address("10.1.0.7") && record.rules?.count == 1)
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7", "10.2.0.7"])
        // Its ssh rule survived the takeover.
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 22") } == true)
    }

    @Test func secondaryAddressesOfTheFirstNICAreLogged() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7, extra: "--nicsecips 10.1.0.71;10.1.0.72;"))
        #expect(h.file("run/i-2-7-VM.ip") == "i-2-7-VM,10.1.0.71;10.1.0.72;,7\n")
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7", "10.1.0.71", "10.1.0.72"])
    }

    @Test func systemVMRulesTakeTheNICsFromLibvirtButTheLocalBridge() throws {
        let router = H.Domain(name: "r-4-VM", interfaces: [("0e:00:a9:fe:00:04", "cloud0", "tap40"),
                                                          ("02:00:00:00:00:04", "cloudbr0", "tap41")])
        let h = try H(domains: [router])
        try h.run(.defaultNetworkRulesSystemVM, "--vmname r-4-VM --localbrname cloud0")
        let record = try #require(try StateStore(directory: "\(h.directory)/state").load(try VMName("r-4-VM")).host.vms.first)
        #expect(record.nics.map(\.bridge.rawValue) == ["cloudbr0"])
        #expect(h.file("run/r-4-VM.log") == "r-4-VM,-1,_ignore_,\(h.id("r-4-VM")),_initial_,-1\n")
        #expect(h.host.lines("r-4-VM")?.isEmpty == false)
        let error = try #require(try h.failure(.defaultNetworkRulesSystemVM, "--vmname i-2-7-VM"))
        #expect(error.kind == .badInput)
    }

    @Test func postDefaultRulesAddTheMetadataRedirect() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.postDefaultNetworkRules, "--vmname i-2-7-VM --vmid 7 --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07 --vif vnet7 --brname cloudbr0 --dhcpSvr 10.1.0.1 --hostIp 192.168.0.10 --hostMacAddr 02:aa:00:00:00:01")
        #expect(h.host.lines("PREROUTING", table: .nat)?.contains { $0.contains("--to-destination 192.168.0.10:80") } == true)
        #expect(h.host.ebtables["i-2-7-VM-in"]?.contains { $0.contains("--to-dst 02:aa:00:00:00:01") } == true)
        // Without default rules for the vif: refused, nothing changed.
        let before = h.host.text
        let error = try #require(try h.failure(.postDefaultNetworkRules, "--vmname i-2-7-VM --vmip 10.1.0.7 --vif vnet99 --hostIp 192.168.0.10 --hostMacAddr 02:aa:00:00:00:01"))
        #expect(error.description.contains("no default rules for vif vnet99") && h.host.text == before)
    }

    @Test func addRulesProgramsAndSkipsWhatWasAlreadyProgrammed() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.addNetworkRules, H.addRules(7, rules: ssh))
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 22") } == true)
        #expect(h.file("run/i-2-7-VM.log") == "i-2-7-VM,7,10.1.0.7,\(h.id("i-2-7-VM")),0123456789abcdef0123456789abcdef,1\n")
        // The record keeps the log as written: libvirt's domain id, asked after the kernel change.
        #expect(StateStore(directory: "\(h.directory)/state").annotations()[try VMName("i-2-7-VM")]?.ruleLog == h.file("run/i-2-7-VM.log"))
        let transactions = h.host.transactions.count
        // The same signature and sequence number: the script's "already programmed".
        try h.run(.addNetworkRules, H.addRules(7, rules: web))
        #expect(h.host.transactions.count == transactions)
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 80") } == false)
        try h.run(.addNetworkRules, H.addRules(7, rules: web, signature: "fedcba9876543210fedcba9876543210", sequence: 2))
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 80") } == true)
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 22") } == false)
    }

    @Test func addRulesWarnOfWhatTheyLeaveOut() throws {
        let h = try H(domains: [H.vm7])
        let outcome = try h.run(.addNetworkRules, H.addRules(7, rules: "I:tcp;22;22;null/32,NEXT;"))
        #expect(outcome.warnings.count == 1 && outcome.warnings[0].contains("skipped"))
    }

    @Test func addRulesForAGuestWithoutDefaultRulesProgramItsNIC() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.addNetworkRules, H.addRules(7, rules: ssh))
        #expect(h.host.lines("i-2-7-def")?.isEmpty == false)
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7"])
    }

    @Test func addRulesWithTheSameNICsLeaveEbtablesAlone() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        h.host.ebtables["PREROUTING"]?.append("-i vnet99 -j ACCEPT")
        try h.run(.addNetworkRules, H.addRules(7, rules: ssh))
        // The ebtables phase did not run: another tool's rule would be kept anyway; a drift of ours stays too.
        h.host.ebtables["i-2-7-VM-in-ips"] = []
        try h.run(.addNetworkRules, H.addRules(7, rules: web, signature: "fedcba9876543210fedcba9876543210", sequence: 2))
        #expect(h.host.ebtables["i-2-7-VM-in-ips"] == [])
        #expect(h.host.ebtables["PREROUTING"]?.contains("-i vnet99 -j ACCEPT") == true)
    }

    @Test func secondaryIPsAreAddedAndRemovedByMAC() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.secondaryIP, "--vmname i-2-7-VM --vmmac 02:00:00:00:00:07 --nicsecips 10.1.0.70;2001:db8::70; --action -A")
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7", "10.1.0.70"])
        #expect(h.host.members("i-2-7-VM-6")?.contains("2001:db8::70") == true)
        #expect(h.host.ebtables["i-2-7-VM-in-ips"]?.contains { $0.contains("--arp-ip-src 10.1.0.70") } == true)
        try h.run(.secondaryIP, "--vmname i-2-7-VM --vmmac 02:00:00:00:00:07 --nicsecips 10.1.0.70; --action -D")
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7"])
        let error = try #require(try h.failure(.secondaryIP, "--vmname i-2-7-VM --vmmac 02:00:00:00:00:99 --nicsecips 10.1.0.70; --action -A"))
        #expect(error.description.contains("no NIC with MAC 02:00:00:00:00:99"))
    }

    @Test(arguments: Layout.iptablesLayouts) func destroyRemovesEverythingOfTheGuest(layout: Layout) throws {
        let h = try H(layout: layout, domains: [H.vm7, H.vm8])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.addNetworkRules, H.addRules(7, rules: ssh))
        try h.run(.defaultNetworkRules, H.defaultRules(8))
        let preparations = h.host.libvirtPreparations
        try h.run(.destroy, "--vmname i-2-7-VM --vif vnet7")
        // A destroy asks libvirt nothing: it does not load it either.
        #expect(h.host.libvirtPreparations == preparations && preparations > 0)
        let text = h.host.text
        #expect(!"\(text.iptables)\(text.ip6tables)\(text.ipset)\(text.ebtables)".contains("i-2-7"))
        #expect(text.iptables.contains("i-2-8-def") && h.host.members("i-2-8-VM") == ["10.1.0.8"])
        #expect(!h.exists("state/i-2-7-VM.json") && !h.exists("run/i-2-7-VM.log"))
    }

    @Test func destroyOfOneNICKeepsTheOthers() throws {
        var vm = H.vm7
        vm.interfaces.append(("02:00:00:00:01:07", "cloudbr0", "vnet17"))
        let h = try H(domains: [vm])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.defaultNetworkRules, H.defaultRules(7, vif: "vnet17", mac: "02:00:00:00:01:07", ip: "10.1.0.17", first: false))
        try h.run(.destroy, "--vmname i-2-7-VM --vmip 10.1.0.17 --vmmac 02:00:00:00:01:07")
        #expect(h.host.members("i-2-7-VM") == ["10.1.0.7"])
        #expect(!h.host.text.iptables.contains("vnet17") && h.host.text.iptables.contains("vnet7"))
        #expect(h.exists("state/i-2-7-VM.json"))
    }

    @Test func destroyOfAnUnknownGuestSucceedsAndChangesNothing() throws {
        let h = try H(domains: [H.vm8])
        try h.run(.defaultNetworkRules, H.defaultRules(8))
        let before = h.host.text
        try h.run(.destroy, "--vmname i-2-7-VM --vif vnet7")
        try h.run(.destroy, "--vmname i-2-7-VM --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07")
        #expect(h.host.text == before)
    }

    @Test func destroyOfAGuestWhoseRecordIsLostFindsItsPortsInTheKernel() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.defaultNetworkRules, H.defaultRules(8))
        try FileManager.default.removeItem(atPath: "\(h.directory)/state/i-2-7-VM.json")
        // No --vif: only the kernel says which port's dispatch entries are the guest's.
        try h.run(.destroy, "--vmname i-2-7-VM")
        let text = h.host.text
        #expect(!"\(text.iptables)\(text.ip6tables)\(text.ebtables)".contains("vnet7 "))
        #expect(!text.iptables.contains("i-2-7"))
    }

    /// What security_group.py leaves for the guest: our classic layout,
    /// with no record of it (the parity tests hold the two equal).
    private func scriptProgrammed(_ h: AgentHarness, vm number: Int, rules: String? = nil) throws {
        let domain = [H.vm7, H.vm8].first { $0.name == "i-2-\(number)-VM" }!
        let nic = NIC(vif: try InterfaceName("vnet\(number)", field: "vif"), bridge: try InterfaceName("cloudbr0", field: "b"),
                      mac: MACAddress(domain.interfaces[0].mac), ipv4: IPv4Address("10.1.0.\(number)"))
        let vm = VirtualMachine(name: try VMName(domain.name), id: UInt64(number), nics: [nic], rules: try rules.map { try RuleParser.parse($0) })
        let host = HostState(bridges: [Bridge(name: nic.bridge, uplink: try InterfaceName("eth0", field: "u"))], vms: [vm])
        _ = try h.host.apply(ApplyOptions()) { Renderer.render(host, layout: .classic) }
    }
}
