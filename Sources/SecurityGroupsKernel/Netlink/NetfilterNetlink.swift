private import Glibc

/// A `NETLINK_NETFILTER` socket (no library): one request at a time and
/// its answers. ctnetlink (conntrack) and nf_tables speak through it.
final class NetfilterNetlink {
    private static let netfilter: Int32 = 12                    // NETLINK_NETFILTER
    static let (request, acknowledge, dump): (UInt16, UInt16, UInt16) = (0x1, 0x4, 0x300)

    private let descriptor: Int32
    private let subject: String
    private var sequence: UInt32 = 0

    /// `subject` names the socket in errors (`ctnetlink`, `nf_tables`).
    init(subject: String) throws(NetfilterError) {
        self.subject = subject
        descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.netfilter)
        guard descriptor >= 0 else { throw Self.failure(errno, "open", subject) }
        // struct sockaddr_nl (not in Swift's Glibc): family, pad, pid 0 (the kernel picks), groups 0.
        let address = Self.bytes(UInt16(AF_NETLINK)) + [UInt8](repeating: 0, count: 10)
        let bound = address.withUnsafeBytes { bind(descriptor, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), 12) }
        guard bound == 0 else {
            let code = errno
            close(descriptor)
            throw Self.failure(code, "bind", subject)
        }
        // Acknowledgements without a copy of the message they answer
        // (NETLINK_CAP_ACK): a large transaction's answers then fit the buffer.
        var on: Int32 = 1
        _ = setsockopt(descriptor, 270, 10, &on, socklen_t(MemoryLayout<Int32>.size))        // SOL_NETLINK, NETLINK_CAP_ACK
    }

    deinit { close(descriptor) }

    /// Sends one request: `type` is the subsystem shifted left by 8 plus the message.
    func send(type: UInt16, flags: UInt16, family: UInt8, attributes: [UInt8]) throws(NetfilterError) {
        sequence += 1
        var message: [UInt8] = []
        Self.append(to: &message, type: type, flags: flags, family: family, sequence: sequence, attributes: attributes)
        guard Glibc.send(descriptor, message, message.count, 0) == message.count else { throw Self.failure(errno, "send", subject) }
    }

    /// Appends one message: nlmsghdr (length, type, flags, `sequence`, port
    /// 0), nfgenmsg (family, version 0, `resource` as res_id, big-endian),
    /// the attributes.
    static func append(to bytes: inout [UInt8], type: UInt16, flags: UInt16, family: UInt8, resource: UInt16 = 0, sequence: UInt32,
                       attributes: [UInt8]) {
        for value in [UInt32(16 + 4 + attributes.count), UInt32(type) | UInt32(flags) << 16, sequence, 0] {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        bytes += [family, 0, UInt8(resource >> 8), UInt8(resource & 0xff)]
        bytes += attributes
    }

    /// One message of a transaction; `object` names it in errors.
    typealias Message = (type: UInt16, flags: UInt16, family: UInt8, attributes: [UInt8], object: String)

    /// Sends `messages` as one nf_tables transaction (`transact(generation:_:)`).
    func transact(_ messages: [Message], generation: UInt32? = nil) throws(NetfilterError) {
        try transact(generation: generation) { batch in batch.append(contentsOf: messages) }
    }

    /// Sends the messages `write` puts in a batch as one nf_tables
    /// transaction (in one datagram: the kernel applies all or none). A
    /// refusal names the message by its `object`. With `generation`, the
    /// kernel refuses the whole transaction (ERESTART) when the rule set
    /// changed since that generation was read.
    ///
    /// The kernel checks and commits a batch within the `send` call and
    /// queues its answers before returning, so they are read without
    /// waiting: an error for each refused message, and the acknowledgement
    /// asked for on the last one.
    func transact(generation: UInt32? = nil, _ write: (inout NetfilterBatch) throws(NetfilterError) -> Void) throws(NetfilterError) {
        var batch = NetfilterBatch(after: sequence, generation: generation)
        try write(&batch)
        guard !batch.isEmpty else { return }
        let (first, last) = (batch.first, batch.finish())
        sequence = batch.sequence
        // A whole host's transaction is megabytes: make room (root may exceed the default).
        let length = batch.count
        setBuffer(SO_SNDBUFFORCE, length + 4096)
        var vectors: [iovec] = []
        let sent = Self.withVectors(batch.chunks[...], &vectors) { vectors in
            var header = msghdr()
            return vectors.withUnsafeBufferPointer { buffer in
                header.msg_iov = UnsafeMutablePointer(mutating: buffer.baseAddress)
                header.msg_iovlen = buffer.count
                return sendmsg(descriptor, &header, 0)
            }
        }
        guard sent == length else { throw Self.failure(errno, "send", subject) }
        var refusal: (index: Int, code: Int32)?
        var acknowledged = false
        try receiveMessages(waiting: false) { type, sequence, message in
            guard type == 2 else { return false }                                // NLMSG_ERROR: 0 = acknowledged
            let code = Self.errorCode(message)
            if code != 0, refusal == nil { refusal = (Int(sequence) - Int(first), code) }
            if code == 0, sequence == last { acknowledged = true }
            return false
        }
        if let refusal {
            // Index -1 is the batch's beginning, which carries the generation.
            let object = batch.objects.indices.contains(refusal.index) ? batch.objects[refusal.index]
                : refusal.index < 0 ? "the rule set (changed since it was read)" : "message \(refusal.index + 1)"
            throw NetfilterError(operation: "nf_tables transaction", object: object,
                                 reason: String(cString: strerror(refusal.code)) + "; the whole transaction was refused", errno: refusal.code)
        }
        guard acknowledged else {
            throw NetfilterError(operation: "nf_tables transaction", object: subject, reason: "the kernel did not answer the batch")
        }
    }

    /// Calls `body` with an iovec for each chunk, valid during the call.
    private static func withVectors<Result>(_ chunks: ArraySlice<[UInt8]>, _ vectors: inout [iovec],
                                            _ body: ([iovec]) -> Result) -> Result {
        guard let chunk = chunks.first else { return body(vectors) }
        return chunk.withUnsafeBytes { bytes in
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
            return withVectors(chunks.dropFirst(), &vectors, body)
        }
    }

    /// Grows a socket buffer to at least `size` bytes (never shrinks it).
    private func setBuffer(_ option: Int32, _ size: Int) {
        guard size > 200_000 else { return }
        var value = Int32(clamping: size)
        _ = setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads answers to the last request until its end (NLMSG_DONE, or the
    /// acknowledgement), passing each message's family and attributes to `body`.
    func receive(_ body: (UInt8, ArraySlice<UInt8>) -> Void) throws(NetfilterError) {
        let last = sequence
        try receiveMessages { type, sequence, message throws(NetfilterError) in
            guard sequence == last else { return false }
            switch type {
            case 3: return true                                                  // NLMSG_DONE
            case 2:                                                              // NLMSG_ERROR, 0 = acknowledged
                let code = Self.errorCode(message)
                if code == 0 { return true }
                throw Self.failure(code, "request", subject)
            default:
                if message.count >= 20 { body(message[message.startIndex + 16], message.dropFirst(20)) }
                return false
            }
        }
    }

    /// Reads datagrams and passes each message (its type, its sequence
    /// number, its bytes) to `handle`, until `handle` says it is done.
    /// Without `waiting`, it returns once nothing more is queued.
    private func receiveMessages(waiting: Bool = true,
                                 _ handle: (UInt16, UInt32, ArraySlice<UInt8>) throws(NetfilterError) -> Bool) throws(NetfilterError) {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, waiting ? 0 : Int32(MSG_DONTWAIT))
            guard count > 0 else {
                if count < 0, errno == EINTR { continue }
                if count < 0, !waiting, errno == EAGAIN { return }
                throw Self.failure(errno, "receive", subject)
            }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(Self.value(UInt32.self, buffer, offset))
                guard length >= 16, offset + length <= count else { break }
                let done = try handle(Self.value(UInt16.self, buffer, offset + 4), Self.value(UInt32.self, buffer, offset + 8),
                                      buffer[offset..<(offset + length)])
                if done { return }
                offset += (length + 3) & ~3
            }
        }
    }

    /// The errno of an NLMSG_ERROR message (0: acknowledged).
    private static func errorCode(_ message: ArraySlice<UInt8>) -> Int32 {
        guard message.count >= 20 else { return 0 }
        let bytes = message.dropFirst(16).prefix(4)
        return -Int32(bitPattern: bytes.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// Calls `body` with each attribute's type (without flags) and payload,
    /// allocating nothing: for the hot paths (a table's rules).
    static func forEachAttribute(_ bytes: ArraySlice<UInt8>, _ body: (UInt16, ArraySlice<UInt8>) -> Void) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
            let type = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3fff
            guard length >= 4, offset + length <= bytes.endIndex else { return }
            body(type, bytes[(offset + 4)..<(offset + length)])
            offset = min(offset + ((length + 3) & ~3), bytes.endIndex)
        }
    }

    /// (type without flags, the whole attribute padded, its payload) of each attribute.
    static func attributes(_ bytes: ArraySlice<UInt8>) -> [(UInt16, ArraySlice<UInt8>, ArraySlice<UInt8>)] {
        var result: [(UInt16, ArraySlice<UInt8>, ArraySlice<UInt8>)] = []
        forEachAttribute(bytes) { type, payload in
            let start = payload.startIndex - 4
            result.append((type, bytes[start..<min(start + ((payload.count + 4 + 3) & ~3), bytes.endIndex)], payload))
        }
        return result
    }

    /// One attribute: length, type, payload, padded to 4 bytes.
    static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let length = 4 + payload.count
        var attribute: [UInt8] = []
        attribute.reserveCapacity((length + 3) & ~3)
        attribute.append(UInt8(truncatingIfNeeded: length))
        attribute.append(UInt8(truncatingIfNeeded: length >> 8))
        attribute.append(UInt8(truncatingIfNeeded: type))
        attribute.append(UInt8(truncatingIfNeeded: type >> 8))
        attribute.append(contentsOf: payload)
        attribute.append(contentsOf: repeatElement(0, count: (4 - length % 4) % 4))
        return attribute
    }

    /// A NUL-terminated string attribute.
    static func stringAttribute(_ type: UInt16, _ text: String) -> [UInt8] { attribute(type, Array(text.utf8) + [0]) }

    /// A NUL-terminated string attribute's text.
    static func string(_ payload: ArraySlice<UInt8>) -> String {
        String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A 32-bit attribute's value (netlink's nf_tables numbers are big-endian).
    static func u32(_ payload: ArraySlice<UInt8>) -> UInt32 { payload.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }

    private static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private static func value<T: FixedWidthInteger>(_ type: T.Type, _ buffer: [UInt8], _ offset: Int) -> T {
        buffer[offset..<(offset + MemoryLayout<T>.size)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    private static func failure(_ code: Int32, _ operation: String, _ subject: String) -> NetfilterError {
        NetfilterError(operation: "netlink \(operation)", object: subject, reason: String(cString: strerror(code)), errno: code)
    }
}
