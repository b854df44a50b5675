import Testing
import SecurityGroupsCore

/// The `classic` layout must be exactly what `security_group.py` left in the
/// kernel for every reference scenario and snapshot.
@Suite struct ClassicGoldenTests {
    /// 16 recorded scenarios and 8 snapshots: an empty fixture directory
    /// fails here instead of leaving the parameterised tests without cases.
    @Test func everyScenarioIsThere() {
        #expect(GoldenFixtures.scenarios.count == 24, "\(GoldenFixtures.scenarios)")
    }

    @Test(arguments: GoldenFixtures.scenarios)
    func rendersLikeTheScript(scenario: String) throws {
        let host = try GoldenFixtures.host(scenario)
        let rendered = RulesetText(Renderer.render(host, layout: .classic)).normalized
        let expected = try GoldenFixtures.expected(scenario)
        #expect(rendered.iptables == expected.iptables)
        #expect(rendered.ip6tables == expected.ip6tables)
        #expect(rendered.ipset == expected.ipset)
        #expect(rendered.ebtables == expected.ebtables)
    }
}
