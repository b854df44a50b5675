/// ebtables chains read over netlink where their rules are of the kind
/// that makes up large chains: port jumps (`-i tap7 -j i-2-7-VM-in`, the
/// built-in chains of the classic layout and the notrack layout's dispatch
/// tree), with at most an EtherType (`-p ARP`), and bare verdicts.
/// ebtables-nft writes such a rule as `meta iifname|oifname` and `cmp eq` of
/// the name (with its NUL, or without the `+` of a prefix), the link
/// header's EtherType loaded and compared, a counter, and the verdict. A chain with any other
/// rule is left to the ebtables tool, whose listing costs a process and
/// ebtables-nft's cache of the chain.
package enum EbtablesNFTChains {
    /// The chain's rules as `ebtables -L CHAIN --Lx` prints them (without
    /// `-A CHAIN `), or nil when one of them is of another kind.
    package static func rules(of chain: String) throws(NetfilterError) -> [String]? {
        var lines: [String] = []
        for rule in try NFTablesRules.list(family: NFTablesChains.bridge, table: "nat", chain: chain) {
            guard let line = text(rule.expressions) else { return nil }
            lines.append(line)
        }
        return lines
    }

    /// One rule's text, when it is a port jump, an EtherType's verdict or a bare verdict.
    static func text(_ expressions: [NFTablesRules.Expression]) -> String? {
        typealias Constant = NFTablesRules.Constant
        var rest = expressions[...]
        var protocolWords: [String] = [], interfaceWords: [String] = []
        while rest.count > 2 {
            guard case .cmp(Constant.equal, 1, let data)? = rest.dropFirst().first else { return nil }
            switch rest.first {
            case .meta(let key, 1)? where (key == Constant.metaIIFName || key == Constant.metaOIFName) && interfaceWords.isEmpty:
                guard let name = interface(data) else { return nil }
                interfaceWords = [key == Constant.metaIIFName ? "-i" : "-o", name]
            case .payload(0, 12, 2, 1)? where protocolWords.isEmpty:                               // the link header's EtherType
                guard let name = etherTypes[data] else { return nil }
                protocolWords = ["-p", name]
            default:
                return nil
            }
            rest = rest.dropFirst(2)
        }
        let words = protocolWords + interfaceWords
        guard rest.count == 2, rest.first == .counter, case .verdict(let code, let chain)? = rest.last else { return nil }
        let target: String
        switch (code, chain) {
        case (Constant.accept, nil): target = "ACCEPT"
        case (Constant.drop, nil): target = "DROP"
        case (Constant.return, nil): target = "RETURN"
        case (Constant.jump, let chain?): target = chain
        default: return nil
        }
        return (words + ["-j", target]).joined(separator: " ")
    }

    /// The EtherTypes our layouts match, as ebtables names them.
    private static let etherTypes: [[UInt8]: String] = [[0x08, 0x06]: "ARP", [0x08, 0x00]: "IPv4", [0x86, 0xdd]: "IPv6"]

    /// An interface name compared with its NUL, or a prefix (`tap+`)
    /// compared without one; nil for anything else.
    private static func interface(_ data: [UInt8]) -> String? {
        let name = data.last == 0 ? data.dropLast() : data[...]
        guard !name.isEmpty, name.count < 16, !name.contains(0), name.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "+") }) else {
            return nil
        }
        return String(decoding: name, as: UTF8.self) + (data.last == 0 ? "" : "+")
    }
}
