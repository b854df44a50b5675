import Testing
@testable import SecurityGroupsCore

@Suite struct RuleParserTests {
    private func error(_ text: String) -> String? {
        do { _ = try RuleParser.parse(text); return nil } catch { return error.description }
    }

    @Test func parsesTheAgentsForm() throws {
        let rules = try RuleParser.parse(
            "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;E:udp;53;53;10.0.0.1/8,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:47;0;0;NEXT;I:all;0;0;::/0,NEXT;")
        #expect(rules.count == 5)
        #expect(rules[0] == SecurityGroupRule(direction: .ingress, ipProtocol: .tcp, startPort: 22, endPort: 22,
                                              ipv4: [IPNetwork("0.0.0.0/0")!], ipv6: [IPNetwork("::/0")!]))
        #expect(rules[1].direction == .egress)
        #expect(rules[1].ipv4.map(\.description) == ["10.0.0.0/8"])
        #expect(rules[2].startPort == -1)
        #expect(rules[3].ipProtocol == .number(47))
        #expect(rules[3].ipv4.isEmpty && rules[3].ipv6.isEmpty)
        #expect(rules[4].ipv6.first?.isAny == true)
        #expect(rules.map(\.wireForm).joined()
            == "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;E:udp;53;53;10.0.0.0/8,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:47;0;0;NEXT;I:all;0;0;::/0,NEXT;")
        #expect(try RuleParser.parse("").isEmpty)
        #expect(try RuleParser.parse("I:tcp;1;65535;1.2.3.4,NEXT;")[0].ipv4.map(\.description) == ["1.2.3.4/32"])
    }

    /// The management server sends `null/32` for a member of an allowed
    /// group without an IPv4 address; like the script, such entries match
    /// nothing and the rest of the rule stands.
    @Test func keepsAsideCIDRsThatAreNone() throws {
        let rules = try RuleParser.parse("I:tcp;22;22;10.1.0.5/32,null/32,::/0,NEXT;E:udp;53;53;10.0.0.0/33,NEXT;I:all;0;0;NEXT;")
        #expect(rules[0].ipv4.map(\.description) == ["10.1.0.5/32"])
        #expect(rules[0].ipv6.map(\.description) == ["::/0"])
        #expect(rules[0].unusableCIDRs == ["null/32"])
        #expect(rules[1].ipv4.isEmpty && rules[1].unusableCIDRs == ["10.0.0.0/33"])
        #expect(rules[1].names(.ipv4) && !rules[1].names(.ipv6))
        #expect(!rules[2].names(.ipv4) && !rules[2].names(.ipv6))
        #expect(try RuleParser.parse("E:tcp;1;2;fd00::/129,NEXT;")[0].names(.ipv6))
        #expect(rules.map(\.wireForm).joined() == "I:tcp;22;22;10.1.0.5/32,::/0,null/32,NEXT;E:udp;53;53;10.0.0.0/33,NEXT;I:all;0;0;NEXT;")
    }

    @Test func refusesMalformedRules() {
        #expect(error("I:tcp;22;22;0.0.0.0/0,")
            == "invalid rules 'I:tcp;22;22;0.0.0.0/0,': rule 1 'I:tcp;22;22;0.0.0.0/0,' does not end in NEXT;")
        #expect(error("I:tcp;22;22;0.0.0.0/0,NEXT;garbage")
            == "invalid rules 'I:tcp;22;22;0.0.0.0/0,NEXT;garbage': rule 2 'garbage' does not end in NEXT;")
        #expect(error("X:tcp;22;22;0.0.0.0/0,NEXT;")
            == "invalid rules 'X:tcp;22;22;0.0.0.0/0,NEXT;': rule 1 'X:tcp;22;22;0.0.0.0/0,': direction must be I or E, not 'X'")
        #expect(error("I:sctp;22;22;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:sctp;22;22;0.0.0.0/0,NEXT;': rule 1 'I:sctp;22;22;0.0.0.0/0,': protocol must be tcp, udp, icmp, all or a number 0-255, not 'sctp'")
        #expect(error("I:256;0;0;NEXT;")
            == "invalid rules 'I:256;0;0;NEXT;': rule 1 'I:256;0;0;': protocol number 256 is out of range 0-255")
        #expect(error("I:tcp;0;65536;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:tcp;0;65536;0.0.0.0/0,NEXT;': rule 1 'I:tcp;0;65536;0.0.0.0/0,': ports must be within 0-65535, got 0:65536")
        #expect(error("I:udp;-1;53;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:udp;-1;53;0.0.0.0/0,NEXT;': rule 1 'I:udp;-1;53;0.0.0.0/0,': ports must be within 0-65535, got -1:53")
        #expect(error("I:tcp;80;22;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:tcp;80;22;0.0.0.0/0,NEXT;': rule 1 'I:tcp;80;22;0.0.0.0/0,': start port 80 is above end port 22")
        #expect(error("I:icmp;256;0;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:icmp;256;0;0.0.0.0/0,NEXT;': rule 1 'I:icmp;256;0;0.0.0.0/0,': ICMP type 256 is out of range -1-255")
        #expect(error("I:icmp;8;-2;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:icmp;8;-2;0.0.0.0/0,NEXT;': rule 1 'I:icmp;8;-2;0.0.0.0/0,': ICMP code -2 is out of range -1-255")
        #expect(error("I:47;1;2;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:47;1;2;0.0.0.0/0,NEXT;': rule 1 'I:47;1;2;0.0.0.0/0,': protocol 47 takes no ports, got 1:2")
        #expect(error("I:tcp;a;22;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:tcp;a;22;0.0.0.0/0,NEXT;': rule 1 'I:tcp;a;22;0.0.0.0/0,': start 'a' is not an integer")
        #expect(error("I:tcp;22;22;0.0.0.0/0;reboot,NEXT;")
            == "invalid rules 'I:tcp;22;22;0.0.0.0/0;reboot,NEXT;': rule 1 'I:tcp;22;22;0.0.0.0/0;reboot,': '0.0.0.0/0;reboot' is not a CIDR")
        #expect(error("I:tcp;22;22;0.0.0.0/0,$(id),NEXT;")
            == "invalid rules 'I:tcp;22;22;0.0.0.0/0,$(id),NEXT;': rule 1 'I:tcp;22;22;0.0.0.0/0,$(id),': '$(id)' is not a CIDR")
        #expect(error("I:tcp;22;22;0.0.0.0/0NEXT;")
            == "invalid rules 'I:tcp;22;22;0.0.0.0/0NEXT;': rule 1 'I:tcp;22;22;0.0.0.0/0': CIDR list must end with ','")
        #expect(error("I:tcp;22;0.0.0.0/0,NEXT;")
            == "invalid rules 'I:tcp;22;0.0.0.0/0,NEXT;': rule 1 'I:tcp;22;0.0.0.0/0,': expected direction:protocol;start;end;cidrs")
        #expect(error("Itcp;22;22;NEXT;")
            == "invalid rules 'Itcp;22;22;NEXT;': rule 1 'Itcp;22;22;': expected direction:protocol")
    }
}
