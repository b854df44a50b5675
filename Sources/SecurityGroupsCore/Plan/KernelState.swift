/// A rule as read back from the kernel: one we can express, or anything else.
public enum KernelRule: Hashable, Sendable {
    case known(IPTablesRule)
    /// A rule with matches, targets or flags our layouts never write.
    case opaque
}

/// One iptables table as the kernel holds it.
public struct KernelTableState: Equatable, Sendable {
    public var name: IPTable.Name
    /// The chains that were read, built-in or not, with their rules in order.
    public var chains: [String: [KernelRule]]
    /// Chains that exist but were not read (outside the run's scope).
    public var otherChains: Set<String>

    public init(name: IPTable.Name, chains: [String: [KernelRule]], otherChains: Set<String> = []) {
        self.name = name
        self.chains = chains
        self.otherChains = otherChains
    }

    public func exists(_ chain: String) -> Bool { chains[chain] != nil || otherChains.contains(chain) }
}

/// What in the kernel belongs to CloudStack security groups, and may be
/// changed or removed by us. Everything else is left exactly as it is.
public enum Ownership {
    /// Chains named like the script's and ours: `BF-<bridge>[-IN|-OUT]`,
    /// VM chains `i-`, `r-`, `s-`, `v-` followed by a number, and the
    /// `notrack` layout's port dispatch (`sg-in…`, `sg-out…`) and fast path.
    public static func ownsChain(_ name: String) -> Bool {
        if name.hasPrefix("BF-") || name == Notrack.openSenderChain { return true }
        return ownsEbtablesChain(name)
    }

    /// ebtables chains: the VMs' and the port dispatch.
    public static func ownsEbtablesChain(_ name: String) -> Bool {
        isVMObjectName(name) || InterfaceDispatch.isDispatchChain(name)
    }

    /// `[irsv]-<digits>-...`: the VM names CloudStack gives, and the chains
    /// and sets derived from them.
    public static func isVMObjectName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8.prefix(4))
        guard utf8.count >= 3, [UInt8(ascii: "i"), UInt8(ascii: "r"), UInt8(ascii: "s"), UInt8(ascii: "v")].contains(utf8[0]),
              utf8[1] == UInt8(ascii: "-"), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[2]) else { return false }
        return true
    }

    /// Our sets: the VMs' address sets and the `notrack` layout's four.
    public static func ownsSet(_ name: String) -> Bool {
        isVMObjectName(name) || NetfilterNames.notrackSets.contains(name)
    }

    /// Whether a rule in a built-in chain is one of ours: the FORWARD jumps
    /// and drops of a bridge framework, the metadata DNAT, and the `notrack`
    /// raw rules.
    public static func ownsBuiltinRule(_ rule: KernelRule, chain: String, table: IPTable.Name,
                                       bridgeChains: Set<String>) -> Bool {
        guard case .known(let rule) = rule else { return false }
        switch (table, chain) {
        case (.filter, "FORWARD"):
            if case .jump(let target) = rule.target { return target.hasPrefix("BF-") }
            guard rule.target == .drop, rule.matches.isEmpty, rule.ipProtocol == nil,
                  rule.source == nil, rule.destination == nil else { return false }
            switch (rule.inInterface, rule.outInterface) {
            case (let bridge?, nil), (nil, let bridge?): return bridgeChains.contains("BF-" + bridge)
            default: return false
            }
        case (.nat, "PREROUTING"):
            if case .dnat = rule.target { return isMetadataShape(rule) }
            return false
        case (.raw, "PREROUTING"):
            if rule.target == .notrack { return rule.referencedSets.contains { $0.hasPrefix("cs_") } }
            // The metadata RETURN: by set, or (before) one per port.
            return rule.target == .return && (rule.referencedSets.contains(NetfilterNames.metadataSet) || isMetadataShape(rule))
        default:
            return false
        }
    }

    /// `-d ADDR/32 -p tcp -m physdev --physdev-in VIF -m tcp --dport 80`.
    private static func isMetadataShape(_ rule: IPTablesRule) -> Bool {
        guard rule.ipProtocol == 6, rule.source == nil, rule.destination?.prefixLength == 32,
              rule.matches.count == 2, case .physdev(let physdev) = rule.matches[0], physdev.inPort != nil,
              physdev.outPort == nil, !physdev.isBridged,
              rule.matches[1] == .tcp(PortMatch(destinationPorts: 80...80)) else { return false }
        return true
    }
}
