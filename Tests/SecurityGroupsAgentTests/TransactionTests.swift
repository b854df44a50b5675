import Foundation
import Testing
@testable import SecurityGroupsAgent
import SecurityGroupsCore
import SecurityGroupsKernel

/// How commands become transactions (together, alone, refused, failed), and
/// resync, status and apply: over an in-memory host.
@Suite struct TransactionTests {
    typealias H = AgentHarness
    private let ssh = "I:tcp;22;22;0.0.0.0/0,NEXT;"

    @Test func commandsThatArriveTogetherAreOneTransaction() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        let results = try h.run([(.defaultNetworkRules, H.defaultRules(7)), (.addNetworkRules, H.addRules(7, rules: ssh)),
                                 (.defaultNetworkRules, H.defaultRules(8)), (.ruleLogs, ""), (.destroy, "--vmname i-2-8-VM --vif vnet8")])
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        // The first three together; the rule logs alone (nothing to apply); the destroy alone.
        #expect(h.host.transactions == [.vms([try VMName("i-2-7-VM"), try VMName("i-2-8-VM")], vifs: ["vnet7", "vnet8"]),
                                        .vm(try VMName("i-2-8-VM"), vifs: ["vnet8"])])
        // In libvirt's order of domains, which need not be by name.
        let logs = try results[3].get().output.dropLast().split(separator: ";").map(String.init)
        #expect(Set(logs) == ["i-2-7-VM,7,10.1.0.7,\(h.id("i-2-7-VM")),0123456789abcdef0123456789abcdef,1",
                              "i-2-8-VM,8,10.1.0.8,\(h.id("i-2-8-VM")),_initial_,-1"])
        #expect(h.host.lines("i-2-7-VM")?.contains { $0.contains("--dport 22") } == true && !h.host.text.iptables.contains("i-2-8"))
    }

    @Test func aSubmittedCommandGoesThroughTheQueueAndLeavesNothingThere() throws {
        let h = try H(domains: [H.vm7])
        let words = H.defaultRules(7).split(separator: " ").map(String.init)
        #expect(try h.agent.submit(.defaultNetworkRules, arguments: words) == Agent.Outcome())
        #expect(h.exists("state/i-2-7-VM.json") && h.host.transactions.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(h.directory)/lock.queue").isEmpty)
        let error = try #require(throws: AgentError.self) {
            try h.agent.submit(.secondaryIP, arguments: ["--vmname", "i-2-7-VM", "--vmmac", "02:00:00:00:00:99", "--nicsecips", "10.1.0.70;", "--action", "-A"])
        }
        #expect(error.description.contains("no NIC with MAC"))
    }

    @Test func aRefusedCommandFailsAloneAndLeavesNoTrace() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        let results = try h.run([(.defaultNetworkRules, H.defaultRules(7)), (.addNetworkRules, H.addRules(8, rules: "I:tcp;99999;22;0.0.0.0/0,NEXT;")),
                                 (.defaultNetworkRules, H.defaultRules(8))])
        #expect((try? results[0].get()) != nil && (try? results[2].get()) != nil)
        guard case .failure(let error) = results[1] else { Issue.record("the bad rules were taken"); return }
        #expect(error.kind == .badInput && error.description.contains("99999"))
        #expect(h.host.transactions.count == 1)
        #expect(h.file("run/i-2-8-VM.log") == "i-2-8-VM,8,10.1.0.8,\(h.id("i-2-8-VM")),_initial_,-1\n")
    }

    @Test func aKernelFailureOfManyRetriesEachAlone() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        h.host.failure = NetfilterError(operation: "commit", object: "iptables filter", reason: "EAGAIN")
        let results = try h.run([(.defaultNetworkRules, H.defaultRules(7)), (.defaultNetworkRules, H.defaultRules(8))])
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(h.host.transactions.count == 2 && h.exists("state/i-2-7-VM.json") && h.exists("state/i-2-8-VM.json"))
    }

    @Test func aKernelFailureOfOneFailsItWithoutFiles() throws {
        let h = try H(domains: [H.vm7])
        h.host.failure = NetfilterError(operation: "commit", object: "iptables filter", reason: "no memory")
        let error = try #require(try h.failure(.defaultNetworkRules, H.defaultRules(7)))
        #expect(error.kind == .failure && error.description.contains("commit iptables filter: no memory; nothing was changed"))
        #expect(!h.exists("state/i-2-7-VM.json") && !h.exists("run/i-2-7-VM.log") && h.host.transactions.isEmpty)
    }

    @Test func rulesInNFTablesRefuseEveryCommandBeforeAnyChange() throws {
        let h = try H(domains: [H.vm7])
        h.host.nfTablesChains = ["ip filter BF-cloudbr0"]
        let results = try h.run([(.defaultNetworkRules, H.defaultRules(7)), (.cleanup, "")])
        for result in results {
            guard case .failure(let error) = result else { Issue.record("a command ran"); continue }
            #expect(error.description.contains("nf_tables"))
        }
        #expect(h.host.transactions.isEmpty && !h.exists("run/i-2-7-VM.log"))
    }

    @Test func resyncReprogramsARebootedHostInOneTransaction() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        try h.run(.addNetworkRules, H.addRules(7, rules: ssh))
        try h.run(.defaultNetworkRules, H.defaultRules(8))
        let programmed = h.host.text
        // A reboot: the kernel and run_dir empty, the vifs renamed by libvirt (testnetN).
        let fresh = try InMemoryHost(libvirtURI: h.agent.configuration.libvirtURI)
        (h.host.tables, h.host.ipsets, h.host.ebtables) = (fresh.tables, fresh.ipsets, fresh.ebtables)
        try FileManager.default.removeItem(atPath: "\(h.directory)/run")
        h.restart()
        let summary = try h.agent.resync()
        #expect(summary.vms == ["i-2-7-VM", "i-2-8-VM"] && summary.problems.isEmpty)
        #expect(h.host.transactions.last == .host)
        #expect(h.file("run/i-2-7-VM.log") == "i-2-7-VM,7,10.1.0.7,\(h.id("i-2-7-VM")),0123456789abcdef0123456789abcdef,1\n")
        let text = h.host.text
        #expect(text.ipset == programmed.ipset && text.iptables.contains("testnet") && !text.iptables.contains("vnet7"))
        #expect(try h.agent.status().vms.allSatisfy { $0.inSync == true })
        // Again: nothing to change.
        let again = try h.agent.resync()
        #expect(again.report.isEmpty)
    }

    @Test func resyncBesideTheScriptsGuestsChangesOnlyOurs() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        let nic = NIC(vif: try InterfaceName("vnet8", field: "v"), bridge: try InterfaceName("cloudbr0", field: "b"),
                      mac: MACAddress("02:00:00:00:00:08"), ipv4: IPv4Address("10.1.0.8"))
        let script = HostState(bridges: [Bridge(name: nic.bridge, uplink: try InterfaceName("eth0", field: "u"))],
                               vms: [VirtualMachine(name: try VMName("i-2-8-VM"), id: 8, nics: [nic])])
        _ = try h.host.apply(ApplyOptions()) { Renderer.render(script, layout: .classic, scope: .vm(try VMName("i-2-8-VM"), vifs: ["vnet8"])) }
        let scriptChain = h.host.lines("i-2-8-def")
        let summary = try h.agent.resync()
        #expect(summary.unrecorded == ["i-2-8-VM"])
        guard case .vms(let selection)? = h.host.transactions.last else { Issue.record("resync took the whole host"); return }
        #expect(selection.names == [try VMName("i-2-7-VM")])
        #expect(h.host.lines("i-2-8-def") == scriptChain)
    }

    @Test func statusTellsWhichGuestDrifted() throws {
        let h = try H(domains: [H.vm7, H.vm8])
        // Status compares with the vifs libvirt reports (the test driver's testnetN).
        for vm in [7, 8] {
            let vif = try #require(try h.host.interfaces(of: "i-2-\(vm)-VM")?.first?.vif)
            try h.run(.defaultNetworkRules, H.defaultRules(vm, vif: vif))
        }
        #expect(try h.agent.status().vms.map(\.inSync) == [true, true])
        h.host.ipsets[h.host.ipsets.firstIndex { $0.name == "i-2-8-VM" }!].members = []
        let status = try h.agent.status()
        #expect(status.vms.map(\.name) == ["i-2-7-VM", "i-2-8-VM"] && status.vms.map(\.inSync) == [true, false])
        #expect(status.hostInSync && status.pendingChanges == 1)
    }

    @Test func applyOfOneVMTouchesOnlyItsObjects() throws {
        let h = try H(domains: [])
        let vms = try [7, 8].map { number in
            VirtualMachine(name: try VMName("i-2-\(number)-VM"), id: UInt64(number), nics: [
                NIC(vif: try InterfaceName("vnet\(number)", field: "v"), bridge: try InterfaceName("cloudbr0", field: "b"),
                    mac: MACAddress("02:00:00:00:00:0\(number)"), ipv4: IPv4Address("10.1.0.\(number)")),
            ])
        }
        let bridge = Bridge(name: try InterfaceName("cloudbr0", field: "b"), uplink: nil)
        _ = try h.agent.apply(HostState(bridges: [bridge], vms: vms), layout: .notrack, vm: nil, dryRun: false, allowNFTables: false)
        let both = h.host.text
        // i-2-8 gone from the file: `--vm i-2-8-VM` finds its ports in the kernel and removes it alone.
        let report = try h.agent.apply(HostState(bridges: [bridge], vms: [vms[0]]), layout: .notrack, vm: try VMName("i-2-8-VM"),
                                       dryRun: false, allowNFTables: false)
        #expect(!report.isEmpty && !h.host.text.iptables.contains("vnet8") && h.host.text.iptables.contains("vnet7"))
        #expect(h.host.transactions.last == .vm(try VMName("i-2-8-VM"), vifs: ["vnet8"]) && both != h.host.text)
        h.host.nfTablesChains = ["ip filter BF-cloudbr0"]
        #expect(throws: AgentError.self) { try h.agent.apply(HostState(), layout: .notrack, vm: nil, dryRun: true, allowNFTables: false) }
        #expect(try h.agent.apply(HostState(bridges: [bridge], vms: [vms[0]]), layout: .notrack, vm: nil, dryRun: true, allowNFTables: true).isEmpty)
    }

    /// A host in the native layout: the whole host's apply puts its tables
    /// in place and empties the iptables tables; then the agent's commands
    /// refuse (changing nothing), and a resync takes the host back.
    @Test func aNativeHostRefusesVMScopedWritesUntilResync() throws {
        let h = try H(domains: [H.vm7])
        try h.run(.defaultNetworkRules, H.defaultRules(7))
        let recorded = h.agent.store.load().host
        _ = try h.agent.apply(recorded, layout: .native, vm: nil, dryRun: false, allowNFTables: false)
        #expect(h.host.native?.tables.first?.chains.contains { $0.name == "i-2-7-def" } == true)
        #expect(!h.host.text.iptables.contains("i-2-7"), "the notrack rules went with the same apply")
        let transactions = h.host.transactions.count
        let refused = try #require(try h.failure(.addNetworkRules, H.addRules(7, rules: ssh)))
        #expect(refused.description.contains("this host is programmed in the native layout"))
        #expect(h.host.transactions.count == transactions && h.host.native != nil)
        _ = try h.agent.resync()
        #expect(h.host.native == nil && h.host.text.iptables.contains("i-2-7-def"))
    }
}
