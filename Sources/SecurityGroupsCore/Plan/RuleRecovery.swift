/// Recovers a VM's security group rules from its ingress and egress chains,
/// for taking over a VM the script programmed: one rule per CIDR, in the
/// order the agent sent them, which renders back to the same chains.
public enum RuleRecovery {
    /// nil when some rule in the chains is not one the renderer writes.
    public static func rules(ingress4: [KernelRule], egress4: [KernelRule],
                             ingress6: [KernelRule], egress6: [KernelRule]) -> [SecurityGroupRule]? {
        var recovered: [SecurityGroupRule] = []
        for (chain, direction, family) in [(ingress4, SecurityGroupRule.Direction.ingress, AddressFamily.ipv4),
                                           (egress4, .egress, .ipv4), (ingress6, .ingress, .ipv6), (egress6, .egress, .ipv6)] {
            // Allow rules sit above the final DROP/RETURN, newest (last sent) first.
            let allows = chain.dropLast()
            for kernelRule in allows.reversed() {
                guard case .known(let rule) = kernelRule,
                      let recoveredRule = recover(rule, direction: direction, family: family) else { return nil }
                recovered.append(recoveredRule)
            }
        }
        return recovered
    }

    private static func recover(_ rule: IPTablesRule, direction: SecurityGroupRule.Direction,
                                family: AddressFamily) -> SecurityGroupRule? {
        guard rule.target == (direction == .ingress ? .accept : .return), !rule.sourceInverted, !rule.destinationInverted,
              rule.inInterface == nil, rule.outInterface == nil else { return nil }
        let peer = direction == .ingress ? rule.source : rule.destination
        guard (direction == .ingress ? rule.destination : rule.source) == nil else { return nil }
        let anyNetwork = IPNetwork(family == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0)), prefixLength: 0)
        let cidr = peer ?? anyNetwork
        guard cidr.family == family else { return nil }
        let matches = rule.matches.filter { $0 != .state(.new) }
        var result = SecurityGroupRule(direction: direction, ipProtocol: .all, startPort: 0, endPort: 0,
                                       ipv4: family == .ipv4 ? [cidr] : [], ipv6: family == .ipv6 ? [cidr] : [])
        switch (rule.ipProtocol, matches.first, matches.count) {
        case (nil, nil, 0):
            return rule.matches == [.state(.new)] || rule.matches.isEmpty ? result : nil
        case (6?, .tcp(let ports)?, 1), (17?, .udp(let ports)?, 1):
            result.ipProtocol = rule.ipProtocol == 6 ? .tcp : .udp
            if ports.destinationPorts != PortMatch.anyPort {
                result.startPort = Int(ports.destinationPorts.lowerBound)
                result.endPort = Int(ports.destinationPorts.upperBound)
            }
            return ports.sourcePorts == PortMatch.anyPort ? result : nil
        case (1?, .icmp(let type, let codes)?, 1), (58?, .icmp6(let type, let codes)?, 1):
            result.ipProtocol = .icmp
            if type == 255 && codes == 0...255 && family == .ipv4 {
                (result.startPort, result.endPort) = (-1, -1)
            } else {
                result.startPort = Int(type)
                result.endPort = codes == 0...255 ? -1 : Int(codes.lowerBound)
            }
            return result
        case (58?, nil, 0):
            result.ipProtocol = .icmp
            (result.startPort, result.endPort) = (-1, -1)
            return result
        case (let number?, nil, 0):
            result.ipProtocol = .number(number)
            return result
        default:
            return nil
        }
    }
}
