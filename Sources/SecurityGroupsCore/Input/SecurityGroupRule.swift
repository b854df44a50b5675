/// One security group rule as the management server sends it.
public struct SecurityGroupRule: Hashable, Sendable {
    public enum Direction: String, Sendable, Hashable {
        case ingress = "I"
        case egress = "E"
    }

    public enum IPProtocol: Hashable, Sendable, CustomStringConvertible {
        case all, tcp, udp, icmp
        /// Any other IP protocol, by number (e.g. 47 for GRE).
        case number(UInt8)

        public var description: String {
            switch self {
            case .all: "all"
            case .tcp: "tcp"
            case .udp: "udp"
            case .icmp: "icmp"
            case .number(let value): String(value)
            }
        }
    }

    public var direction: Direction
    public var ipProtocol: IPProtocol
    /// Start port for tcp/udp (0 with `endPort` 0: any port); ICMP type for icmp (-1: any).
    public var startPort: Int
    /// End port for tcp/udp; ICMP code for icmp (-1: any code).
    public var endPort: Int
    /// IPv4 CIDRs in the order given.
    public var ipv4: [IPNetwork]
    /// IPv6 CIDRs in the order given.
    public var ipv6: [IPNetwork]
    /// Entries of the CIDR list that are no CIDR (`null/32`: an allowed
    /// group's member without an IPv4 address). They match nothing, but an
    /// egress rule holding one still closes its family's egress.
    public var unusableCIDRs: [String]

    public init(direction: Direction, ipProtocol: IPProtocol, startPort: Int, endPort: Int,
                ipv4: [IPNetwork], ipv6: [IPNetwork], unusableCIDRs: [String] = []) {
        self.direction = direction
        self.ipProtocol = ipProtocol
        self.startPort = startPort
        self.endPort = endPort
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.unusableCIDRs = unusableCIDRs
    }

    /// The CIDRs of one family.
    public func cidrs(_ family: AddressFamily) -> [IPNetwork] {
        family == .ipv4 ? ipv4 : ipv6
    }

    /// Whether the rule names `family`: one of its CIDRs, or an unusable
    /// entry written like one of that family (`null/32` is IPv4's).
    public func names(_ family: AddressFamily) -> Bool {
        !cidrs(family).isEmpty || unusableCIDRs.contains { $0.contains(":") == (family == .ipv6) }
    }

    /// The rule in the agent's wire form, `I:tcp;22;22;0.0.0.0/0,NEXT;`.
    public var wireForm: String {
        let cidrs = (ipv4.map(\.description) + ipv6.map(\.description) + unusableCIDRs).map { "\($0)," }.joined()
        return "\(direction.rawValue):\(ipProtocol);\(startPort);\(endPort);\(cidrs)NEXT;"
    }
}
