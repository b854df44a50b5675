/// Parses the agent's `--rules` argument.
///
/// The form is a sequence of `D:proto;start;end;cidr,cidr,...,NEXT;` where D
/// is `I` (ingress) or `E` (egress) and the CIDR list may be empty. Unlike
/// the script, which skips what it cannot read, any malformed rule or
/// trailing text is an error naming the rule. One exception, as the script:
/// a CIDR that is not one but holds only address characters (the management
/// server sends `null/32` for a member of an allowed group without an IPv4
/// address) is kept aside in `unusableCIDRs` and matches nothing.
public enum RuleParser {
    public static func parse(_ text: String, field: String = "rules") throws(InputError) -> [SecurityGroupRule] {
        var rules: [SecurityGroupRule] = []
        var rest = Substring(text)
        var index = 0
        while !rest.isEmpty {
            index += 1
            guard let end = rest.firstRange(of: "NEXT;") else {
                throw InputError(field: field, value: text, reason: "rule \(index) '\(rest.prefix(60))' does not end in NEXT;")
            }
            let body = rest[..<end.lowerBound]
            rest = rest[end.upperBound...]
            rules.append(try parseRule(body, index: index, field: field, whole: text))
        }
        return rules
    }

    private static func parseRule(_ body: Substring, index: Int, field: String, whole: String) throws(InputError) -> SecurityGroupRule {
        func refuse(_ reason: String) -> InputError {
            InputError(field: field, value: whole, reason: "rule \(index) '\(body.prefix(60))': \(reason)")
        }
        let tokens = body.split(separator: ";", maxSplits: 3, omittingEmptySubsequences: false)
        guard tokens.count == 4 else { throw refuse("expected direction:protocol;start;end;cidrs") }
        let head = tokens[0].split(separator: ":", omittingEmptySubsequences: false)
        guard head.count == 2 else { throw refuse("expected direction:protocol") }
        guard let direction = SecurityGroupRule.Direction(rawValue: String(head[0])) else {
            throw refuse("direction must be I or E, not '\(head[0])'")
        }
        let ipProtocol: SecurityGroupRule.IPProtocol
        switch head[1] {
        case "all": ipProtocol = .all
        case "tcp": ipProtocol = .tcp
        case "udp": ipProtocol = .udp
        case "icmp": ipProtocol = .icmp
        case let number where number.isDecimal && number.count <= 3:
            guard let value = UInt8(number) else { throw refuse("protocol number \(number) is out of range 0-255") }
            ipProtocol = .number(value)
        default:
            throw refuse("protocol must be tcp, udp, icmp, all or a number 0-255, not '\(head[1])'")
        }
        guard let start = parseInteger(tokens[1]) else { throw refuse("start '\(tokens[1])' is not an integer") }
        guard let end = parseInteger(tokens[2]) else { throw refuse("end '\(tokens[2])' is not an integer") }
        switch ipProtocol {
        case .tcp, .udp:
            guard (0...65535).contains(start), (0...65535).contains(end) else {
                throw refuse("ports must be within 0-65535, got \(start):\(end)")
            }
            guard start <= end else { throw refuse("start port \(start) is above end port \(end)") }
        case .icmp:
            guard (-1...255).contains(start) else { throw refuse("ICMP type \(start) is out of range -1-255") }
            guard (-1...255).contains(end) else { throw refuse("ICMP code \(end) is out of range -1-255") }
        case .all:
            guard (-1...65535).contains(start), (-1...65535).contains(end) else {
                throw refuse("ports must be within -1-65535, got \(start):\(end)")
            }
        case .number:
            // The script would pass these to iptables with --dport, which
            // fails without a port-aware protocol; refuse rather than widen.
            guard (start == 0 && end == 0) || (start == -1 && end == -1) else {
                throw refuse("protocol \(ipProtocol) takes no ports, got \(start):\(end)")
            }
        }
        var ipv4: [IPNetwork] = []
        var ipv6: [IPNetwork] = []
        var unusable: [String] = []
        let cidrText = tokens[3]
        if !cidrText.isEmpty {
            guard cidrText.hasSuffix(",") else { throw refuse("CIDR list must end with ','") }
            for cidr in cidrText.dropLast().split(separator: ",", omittingEmptySubsequences: false) {
                if let network = IPNetwork(String(cidr)) {
                    if network.family == .ipv4 { ipv4.append(network) } else { ipv6.append(network) }
                } else if cidr.unicodeScalars.allSatisfy(\.isAddressCharacter) {
                    unusable.append(String(cidr))
                } else {
                    throw refuse("'\(cidr)' is not a CIDR")
                }
            }
        }
        return SecurityGroupRule(direction: direction, ipProtocol: ipProtocol, startPort: start, endPort: end,
                                 ipv4: ipv4, ipv6: ipv6, unusableCIDRs: unusable)
    }

    private static func parseInteger(_ text: Substring) -> Int? {
        let digits = text.first == "-" ? text.dropFirst() : text
        guard digits.isDecimal, digits.count <= 6 else { return nil }
        return Int(text)
    }
}

extension Unicode.Scalar {
    /// ASCII letters, digits, `.`, `:` and `/`: what a CIDR, or a CIDR
    /// made of a missing address (`null/32`), is written with.
    fileprivate var isAddressCharacter: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
            || self == "." || self == ":" || self == "/"
    }
}
