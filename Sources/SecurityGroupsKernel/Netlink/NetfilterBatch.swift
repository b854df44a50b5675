/// One nf_tables transaction's datagram — NFNL_MSG_BATCH_BEGIN (with the
/// generation it expects, when given), the messages, BATCH_END — written
/// as the messages are made, so that a whole host's messages are never
/// held twice (as messages and as the datagram). The datagram is kept in
/// chunks of about a megabyte, sent together (`sendmsg` with one iovec
/// each): one contiguous array of a whole host's 140 MB would be copied
/// whole each time it grows.
struct NetfilterBatch {
    typealias Message = NetfilterNetlink.Message
    private static let subsystem: UInt16 = 10                             // NFNL_SUBSYS_NFTABLES
    private static let chunkSize = 1 << 20

    /// The datagram, in chunks that each hold whole messages.
    private(set) var chunks: [[UInt8]] = [[]]
    /// Each message's `object`, in order: to name a refused one.
    private(set) var objects: [String] = []
    /// The sequence number of the first message (the batch's beginning is one before).
    let first: UInt32
    /// The last sequence number written.
    private(set) var sequence: UInt32
    /// Where the last message starts: its chunk and offset.
    private var lastMessage: (chunk: Int, offset: Int)?

    /// A batch numbered after `sequence`; with `generation`, the kernel
    /// refuses it whole (ERESTART) if the rule set changed since then.
    init(after sequence: UInt32, generation: UInt32?) {
        self.sequence = sequence
        first = sequence + 2
        let guarded = generation.map { NetfilterNetlink.attribute(1, withUnsafeBytes(of: $0.bigEndian) { Array($0) }) } ?? []  // NFNL_BATCH_GENID
        write(type: 0x10, flags: NetfilterNetlink.request, family: 0, resource: Self.subsystem, attributes: guarded)
    }

    var isEmpty: Bool { objects.isEmpty }

    /// The datagram's length.
    var count: Int { chunks.reduce(0) { $0 + $1.count } }

    mutating func append(_ message: Message) {
        if chunks[chunks.count - 1].count + message.attributes.count > Self.chunkSize {
            chunks.append([])
            chunks[chunks.count - 1].reserveCapacity(Self.chunkSize + 4096)
        }
        lastMessage = (chunks.count - 1, chunks[chunks.count - 1].count)
        objects.append(message.object)
        write(type: message.type, flags: message.flags | NetfilterNetlink.request, family: message.family, resource: 0,
              attributes: message.attributes)
    }

    mutating func append(contentsOf messages: some Sequence<Message>) {
        for message in messages { append(message) }
    }

    /// Ends the batch; returns the last message's sequence number. Only
    /// the last message asks for an acknowledgement (one per message would
    /// overflow the receive buffer on a whole host's transaction).
    mutating func finish() -> UInt32 {
        if let (chunk, offset) = lastMessage {
            chunks[chunk][offset + 6] |= UInt8(truncatingIfNeeded: NetfilterNetlink.acknowledge)       // nlmsg_flags, little-endian
            chunks[chunk][offset + 7] |= UInt8(truncatingIfNeeded: NetfilterNetlink.acknowledge >> 8)
        }
        let last = sequence
        write(type: 0x11, flags: NetfilterNetlink.request, family: 0, resource: Self.subsystem, attributes: [])
        return last
    }

    private mutating func write(type: UInt16, flags: UInt16, family: UInt8, resource: UInt16, attributes: [UInt8]) {
        sequence += 1
        NetfilterNetlink.append(to: &chunks[chunks.count - 1], type: type, flags: flags, family: family, resource: resource, sequence: sequence,
                                attributes: attributes)
    }
}
