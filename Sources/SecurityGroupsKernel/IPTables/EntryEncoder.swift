public import SecurityGroupsCore

/// Rules as the kernel entries libiptc commits, byte for byte as
/// iptables-legacy writes them; for measuring and checking the encoding
/// apart from a kernel (set names resolve to the indexes given).
public struct EntryEncoder {
    private var codec: RuleCodec

    public init(setIndexes: [String: UInt16]) {
        codec = RuleCodec(setIndexes: setIndexes)
    }

    public mutating func encode(_ rule: IPTablesRule, family: AddressFamily) throws(NetfilterError) -> [UInt8] {
        try codec.encode(rule, family: family)
    }
}
