import Testing
@testable import SecurityGroupsKernel
import SecurityGroupsCore

/// What we would send nf_tables reads back as what we meant, for every
/// expression kind iptables-nft writes (no kernel needed).
@Suite struct NFTablesMessagesTests {
    @Test func everyExpressionKindReadsBack() throws {
        var sets = RuleCodec(setIndexes: ["i-2-7-VM": 3])
        let rule = IPTablesRule(source: IPNetwork(.v4(IPv4Address("10.1.0.0")!), prefixLength: 20), inInterface: "vnet+", ipProtocol: 6,
                                matches: [.physdev(PhysdevMatch(inPort: "vnet7", isBridged: true)), .tcp(PortMatch(destinationPorts: 80...443)),
                                          .set(SetMatch("i-2-7-VM", .source)), .state([.new])],
                                target: .jump("i-2-7-VM-eg"))
        let expressions = try #require(try IPTablesNFTRules.expressions(rule, family: .ipv4, sets: &sets))
        let kinds = Set(expressions.map { "\($0)".prefix { $0 != "(" } })
        #expect(kinds == ["meta", "cmp", "payload", "bitwise", "range", "match", "counter", "verdict"])
        for expression in expressions + [.target(name: "CT", revision: 2, info: [1, 0, 0, 0]), .verdict(code: -5, chain: nil)] {
            let element = NFTablesMessages.element(expression)
            let payload = try #require(NetfilterNetlink.attributes(element[...]).first?.2)
            #expect(NFTablesRules.expression(payload) == expression, "\(expression)")
        }
        #expect(IPTablesNFTRules.rule(expressions, family: .ipv4, sets: &sets) == rule)
    }
}
