import Testing
import SecurityGroupsCore

/// The one parser of ebtables rule text reads back every rule we render, and
/// what the script writes, and nothing else.
@Suite struct EbtablesRuleTextTests {
    @Test(arguments: GoldenFixtures.scenarios, Layout.iptablesLayouts)
    func everyRenderedRuleReadsBack(scenario: String, layout: Layout) throws {
        let table = Renderer.render(try GoldenFixtures.host(scenario), layout: layout).ebtables
        for rule in Array(table.builtinRules.values.joined()) + Array(table.chains.values.joined()) {
            #expect(EbtablesSaveFormat.rule(EbtablesSaveFormat.body(rule)) == rule, "\(EbtablesSaveFormat.body(rule))")
        }
    }

    @Test func theScriptsDumpsReadBack() throws {
        for scenario in GoldenFixtures.scenarios {
            for line in try GoldenFixtures.dump(scenario, "ebtables.txt").split(separator: "\n") where line.hasPrefix("-A ") {
                let body = String(line.split(separator: " ", maxSplits: 2)[2])
                #expect(EbtablesSaveFormat.rule(body).map(EbtablesSaveFormat.body) == body, "\(scenario): \(line)")
            }
        }
    }

    @Test func otherRulesAreNotOurs() {
        for body in ["-p IPv4 --ip-src 10.0.0.1 -j ACCEPT", "-i vnet1 -j mark --mark-set 1", "-j", "-s zz -j DROP",
                     "--arp-ip-src", "-p ARP -j dnat --to-dst 02:00:00:00:00:01 --dnat-target DROP"] {
            #expect(EbtablesSaveFormat.rule(body) == nil, "\(body)")
        }
    }

    @Test func portJumps() {
        #expect(EbtablesSaveFormat.rule("-i vnet7 -j i-2-7-VM-in")?.portJump.map { [$0.port, $0.chain] } == ["vnet7", "i-2-7-VM-in"])
        #expect(EbtablesSaveFormat.rule("-o vnet+ -j sg-out-vnet")?.portJump.map { [$0.port, $0.chain] } == ["vnet+", "sg-out-vnet"])
        #expect(EbtablesSaveFormat.rule("-p ARP -o vnet7 -j i-2-7-VM-out")?.portJump == nil)
        #expect(EbtablesSaveFormat.rule("-i vnet7 -j ACCEPT")?.portJump == nil)
    }
}
