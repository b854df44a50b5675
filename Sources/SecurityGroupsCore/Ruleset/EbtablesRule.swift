/// The ebtables `nat` table as far as we own it.
public struct EbtablesTable: Equatable, Sendable {
    /// Our rules in PREROUTING and POSTROUTING, appended in this order.
    public var builtinRules: [String: [EbtablesRule]] = [:]
    /// Our user chains and their full contents.
    public var chains: [String: [EbtablesRule]] = [:]

    public init() {}

    public static let builtinChains = ["PREROUTING", "OUTPUT", "POSTROUTING"]

    /// The policy a user chain is made with: the dispatch chains return
    /// what none of their rules takes; a VM's chains accept, as the script's.
    public static func policy(of chain: String) -> String {
        InterfaceDispatch.isDispatchChain(chain) ? "RETURN" : "ACCEPT"
    }

    public var isEmpty: Bool { chains.isEmpty && builtinRules.values.allSatisfy(\.isEmpty) }
}

/// One ebtables rule of the kinds our layouts use.
public struct EbtablesRule: Hashable, Sendable {
    /// `-p ARP` / `-p IPv4`.
    public enum EtherType: String, Sendable { case arp = "ARP", ipv4 = "IPv4" }
    public enum ARPOperation: String, Sendable { case request = "Request", reply = "Reply" }

    public var etherType: EtherType?
    public var sourceMAC: MACAddress?
    public var inInterface: String?
    public var outInterface: String?
    public var arpOperation: ARPOperation?
    public var arpIPSource: IPv4Address?
    public var arpIPSourceInverted = false
    public var arpIPDestination: IPv4Address?
    public var arpIPDestinationInverted = false
    public var arpMACSource: MACAddress?
    public var arpMACDestination: MACAddress?
    public var ipDestination: IPv4Address?
    /// `--ip-proto tcp --ip-dport N`.
    public var ipTCPDestinationPort: UInt16?
    public var target: EbtablesTarget

    public init(etherType: EtherType? = nil, sourceMAC: MACAddress? = nil, inInterface: String? = nil,
                outInterface: String? = nil, arpOperation: ARPOperation? = nil, arpIPSource: IPv4Address? = nil,
                arpIPSourceInverted: Bool = false, arpIPDestination: IPv4Address? = nil,
                arpIPDestinationInverted: Bool = false, arpMACSource: MACAddress? = nil,
                arpMACDestination: MACAddress? = nil, ipDestination: IPv4Address? = nil,
                ipTCPDestinationPort: UInt16? = nil, target: EbtablesTarget) {
        self.etherType = etherType
        self.sourceMAC = sourceMAC
        self.inInterface = inInterface
        self.outInterface = outInterface
        self.arpOperation = arpOperation
        self.arpIPSource = arpIPSource
        self.arpIPSourceInverted = arpIPSourceInverted
        self.arpIPDestination = arpIPDestination
        self.arpIPDestinationInverted = arpIPDestinationInverted
        self.arpMACSource = arpMACSource
        self.arpMACDestination = arpMACDestination
        self.ipDestination = ipDestination
        self.ipTCPDestinationPort = ipTCPDestinationPort
        self.target = target
    }
}

public enum EbtablesTarget: Hashable, Sendable {
    case accept
    case drop
    case `return`
    case jump(String)
    /// `-j dnat --to-dst MAC --dnat-target ACCEPT`.
    case destinationNAT(MACAddress)
}

extension EbtablesRule {
    /// `-i PORT -j CHAIN` or `-o PORT -j CHAIN` and nothing else: a jump of
    /// the port dispatch, or the script's jump into a VM's chain.
    public var portJump: (port: String, chain: String)? {
        guard case .jump(let chain) = target,
              self == EbtablesRule(inInterface: inInterface, outInterface: outInterface, target: target),
              let port = inInterface ?? outInterface, (inInterface == nil) != (outInterface == nil) else { return nil }
        return (port, chain)
    }
}
