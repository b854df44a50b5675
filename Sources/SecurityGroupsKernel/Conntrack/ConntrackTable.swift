private import Glibc
import SecurityGroupsCore

/// The kernel's connection-tracking table over ctnetlink (`NETLINK_NETFILTER`,
/// no library): dump the entries, delete those of flows that just became
/// untracked (see `UntrackedFlows`).
enum ConntrackTable {
    /// Deletes the entries of `flows`, sparing flows whose peer is one of
    /// `local` (the host's own addresses). Returns how many were deleted.
    static func forget(_ flows: UntrackedFlows, local: Set<IPAddress>) throws(NetfilterError) -> Int {
        guard !flows.isEmpty else { return 0 }
        let socket = try NetlinkSocket()
        let stale = try socket.dump().filter { flows.contains(source: $0.source, destination: $0.destination, keeping: local) }
        var deleted = 0
        for entry in stale {
            // Gone already (it expired, or the flow ended) is as good as deleted.
            if try socket.delete(entry) { deleted += 1 }
        }
        return deleted
    }

    /// The host's own addresses in this namespace.
    static func localAddresses() -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses: Set<IPAddress> = []
        var current = list
        while let item = current {
            if let address = item.pointee.ifa_addr {
                if Int32(address.pointee.sa_family) == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        addresses.insert(.v4(IPv4Address(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))))
                    }
                } else if Int32(address.pointee.sa_family) == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        addresses.insert(.v6(Self.ipv6(withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) })))
                    }
                }
            }
            current = item.pointee.ifa_next
        }
        return addresses
    }

    static func ipv6(_ bytes: [UInt8]) -> IPv6Address {
        IPv6Address(groups: stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) })
    }

    /// One entry as the dump gives it: the original direction's addresses,
    /// and the attributes that name it in a delete request.
    struct Entry {
        var family: UInt8
        var source: IPAddress
        var destination: IPAddress
        /// The `CTA_TUPLE_ORIG` attribute, then `CTA_ZONE` if present, as received.
        var key: [UInt8]
    }
}

/// A ctnetlink socket: requests and their answers, one at a time.
private final class NetlinkSocket {
    private static let netfilter: Int32 = 12                    // NETLINK_NETFILTER
    private static let conntrackSubsystem: UInt16 = 1 << 8      // NFNL_SUBSYS_CTNETLINK
    private static let (get, delete): (UInt16, UInt16) = (1, 2) // IPCTNL_MSG_CT_GET, _DELETE
    private static let (request, acknowledge, dump): (UInt16, UInt16, UInt16) = (0x1, 0x4, 0x300)
    private static let (tupleOriginal, tupleIP, zone): (UInt16, UInt16, UInt16) = (1, 1, 7)

    private let descriptor: Int32
    private var sequence: UInt32 = 0

    init() throws(NetfilterError) {
        descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.netfilter)
        guard descriptor >= 0 else { throw Self.failure("open", errno) }
        // struct sockaddr_nl (not in Swift's Glibc): family, pad, pid 0 (the kernel picks), groups 0.
        let address = Self.bytes(UInt16(AF_NETLINK)) + [UInt8](repeating: 0, count: 10)
        let bound = address.withUnsafeBytes { bind(descriptor, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), 12) }
        guard bound == 0 else {
            let code = errno
            close(descriptor)
            throw Self.failure("bind", code)
        }
    }

    deinit { close(descriptor) }

    /// Every entry, IPv4 and IPv6.
    func dump() throws(NetfilterError) -> [ConntrackTable.Entry] {
        try send(type: Self.conntrackSubsystem | Self.get, flags: Self.request | Self.dump, family: 0, attributes: [])
        var entries: [ConntrackTable.Entry] = []
        try receive { family, attributes in
            if let entry = Self.entry(family: family, attributes) { entries.append(entry) }
        }
        return entries
    }

    /// Deletes one entry; false when it no longer exists.
    func delete(_ entry: ConntrackTable.Entry) throws(NetfilterError) -> Bool {
        try send(type: Self.conntrackSubsystem | Self.delete, flags: Self.request | Self.acknowledge,
                 family: entry.family, attributes: entry.key)
        do {
            try receive { _, _ in }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    private func send(type: UInt16, flags: UInt16, family: UInt8, attributes: [UInt8]) throws(NetfilterError) {
        sequence += 1
        var message: [UInt8] = []
        message.append(contentsOf: Self.bytes(UInt32(16 + 4 + attributes.count)))
        message.append(contentsOf: Self.bytes(type))
        message.append(contentsOf: Self.bytes(flags))
        message.append(contentsOf: Self.bytes(sequence))
        message.append(contentsOf: Self.bytes(UInt32(0)))
        message += [family, 0, 0, 0] + attributes            // nfgenmsg: family, version 0, res_id 0
        guard Glibc.send(descriptor, message, message.count, 0) == message.count else { throw Self.failure("send", errno) }
    }

    /// Reads answers to the last request until its end (NLMSG_DONE, or the
    /// acknowledgement), passing each conntrack message to `body`.
    private func receive(_ body: (UInt8, ArraySlice<UInt8>) -> Void) throws(NetfilterError) {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else {
                if count < 0, errno == EINTR { continue }
                throw Self.failure("receive", errno)
            }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(Self.value(UInt32.self, buffer, offset))
                let type = Self.value(UInt16.self, buffer, offset + 4)
                guard length >= 16, offset + length <= count else { break }
                if Self.value(UInt32.self, buffer, offset + 8) == sequence {
                    switch type {
                    case 3: return                                                   // NLMSG_DONE
                    case 2:                                                          // NLMSG_ERROR, 0 = acknowledged
                        let code = -Int32(bitPattern: Self.value(UInt32.self, buffer, offset + 16))
                        if code == 0 { return }
                        throw Self.failure("request", code)
                    default:
                        if length >= 20 { body(buffer[offset + 16], buffer[(offset + 20)..<(offset + length)]) }
                    }
                }
                offset += (length + 3) & ~3
            }
        }
    }

    /// The entry a dump message describes, when its original tuple names two addresses.
    private static func entry(family: UInt8, _ attributes: ArraySlice<UInt8>) -> ConntrackTable.Entry? {
        var tuple: ArraySlice<UInt8>?
        var zone: ArraySlice<UInt8>?
        for (type, whole, _) in Self.attributes(attributes) {
            if type == Self.tupleOriginal { tuple = whole }
            if type == Self.zone { zone = whole }
        }
        guard let tuple else { return nil }
        var source: IPAddress?, destination: IPAddress?
        for (type, _, payload) in Self.attributes(tuple.dropFirst(4)) where type == Self.tupleIP {
            for (kind, _, address) in Self.attributes(payload) {
                let parsed: IPAddress? = switch (kind, address.count) {
                case (1, 4), (2, 4): .v4(IPv4Address(address.reduce(0) { $0 << 8 | UInt32($1) }))
                case (3, 16), (4, 16): .v6(ConntrackTable.ipv6(Array(address)))
                default: nil
                }
                if kind == 1 || kind == 3 { source = parsed } else { destination = parsed }
            }
        }
        guard let source, let destination else { return nil }
        return ConntrackTable.Entry(family: family, source: source, destination: destination,
                                    key: Array(tuple) + (zone.map(Array.init) ?? []))
    }

    /// (type without flags, the whole attribute padded, its payload) of each attribute.
    private static func attributes(_ bytes: ArraySlice<UInt8>) -> [(UInt16, ArraySlice<UInt8>, ArraySlice<UInt8>)] {
        var result: [(UInt16, ArraySlice<UInt8>, ArraySlice<UInt8>)] = []
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
            let type = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3fff
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            let padded = min(offset + ((length + 3) & ~3), bytes.endIndex)
            result.append((type, bytes[offset..<padded], bytes[(offset + 4)..<(offset + length)]))
            offset = padded
        }
        return result
    }

    private static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private static func value<T: FixedWidthInteger>(_ type: T.Type, _ buffer: [UInt8], _ offset: Int) -> T {
        buffer[offset..<(offset + MemoryLayout<T>.size)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    private static func failure(_ operation: String, _ code: Int32) -> NetfilterError {
        NetfilterError(operation: "conntrack \(operation)", object: "ctnetlink", reason: String(cString: strerror(code)), errno: code)
    }
}
