import Testing
@testable import SecurityGroupsCore

/// Rules recovered from rendered chains render back to the same chains.
/// (Recovery takes over what the script programmed; `notrack`'s peer sets,
/// which the script never makes, are not recovered: such VMs are left out.)
@Suite struct RuleRecoveryTests {
    @Test(arguments: GoldenFixtures.scenarios, Layout.iptablesLayouts)
    func recoveredRulesRenderTheSameChains(scenario: String, layout: Layout) throws {
        let host = try GoldenFixtures.host(scenario)
        let ruleset = Renderer.render(host, layout: layout)
        for vm in host.vms where vm.name.kind == .user && vm.rules != nil
            && !ruleset.ipsets.contains(where: { NetfilterNames(vm.name).isPeerSet($0.name) }) {
            let names = NetfilterNames(vm.name)
            func chain(_ family: AddressFamily, _ name: String) -> [KernelRule] {
                (ruleset.iptables(family).filter.chains[name] ?? []).map(KernelRule.known)
            }
            let recovered = try #require(RuleRecovery.rules(
                ingress4: chain(.ipv4, names.vmChain), egress4: chain(.ipv4, names.egressChain),
                ingress6: chain(.ipv6, names.vmChain), egress6: chain(.ipv6, names.egressChain)))
            var again = host
            again.vms = host.vms.map { $0.name == vm.name ? VirtualMachine(name: $0.name, id: $0.id, nics: $0.nics, rules: recovered) : $0 }
            let rerendered = Renderer.render(again, layout: layout)
            for family in AddressFamily.allCases {
                #expect(rerendered.iptables(family).filter.chains[names.vmChain] == ruleset.iptables(family).filter.chains[names.vmChain])
                #expect(rerendered.iptables(family).filter.chains[names.egressChain] == ruleset.iptables(family).filter.chains[names.egressChain])
            }
        }
    }

    @Test func refusesRulesTheRendererNeverWrites() {
        let foreign = KernelRule.known(IPTablesRule(inInterface: "eth0", target: .accept))
        #expect(RuleRecovery.rules(ingress4: [foreign, .known(IPTablesRule(target: .drop))], egress4: [], ingress6: [], egress6: []) == nil)
        #expect(RuleRecovery.rules(ingress4: [.opaque, .known(IPTablesRule(target: .drop))], egress4: [], ingress6: [], egress6: []) == nil)
    }
}
