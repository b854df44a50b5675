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

/// ctnetlink requests over a `NetfilterNetlink` socket.
private struct NetlinkSocket {
    private static let conntrackSubsystem: UInt16 = 1 << 8      // NFNL_SUBSYS_CTNETLINK
    private static let (get, delete): (UInt16, UInt16) = (1, 2) // IPCTNL_MSG_CT_GET, _DELETE
    private static let (tupleOriginal, tupleIP, zone): (UInt16, UInt16, UInt16) = (1, 1, 7)

    private let socket: NetfilterNetlink

    init() throws(NetfilterError) { socket = try NetfilterNetlink(subject: "ctnetlink") }

    /// Every entry, IPv4 and IPv6.
    func dump() throws(NetfilterError) -> [ConntrackTable.Entry] {
        try socket.send(type: Self.conntrackSubsystem | Self.get, flags: NetfilterNetlink.request | NetfilterNetlink.dump,
                        family: 0, attributes: [])
        var entries: [ConntrackTable.Entry] = []
        try socket.receive { family, attributes in
            if let entry = Self.entry(family: family, attributes) { entries.append(entry) }
        }
        return entries
    }

    /// Deletes one entry; false when it no longer exists.
    func delete(_ entry: ConntrackTable.Entry) throws(NetfilterError) -> Bool {
        try socket.send(type: Self.conntrackSubsystem | Self.delete, flags: NetfilterNetlink.request | NetfilterNetlink.acknowledge,
                        family: entry.family, attributes: entry.key)
        do {
            try socket.receive { _, _ in }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// The entry a dump message describes, when its original tuple names two addresses.
    private static func entry(family: UInt8, _ attributes: ArraySlice<UInt8>) -> ConntrackTable.Entry? {
        var tuple: ArraySlice<UInt8>?
        var zone: ArraySlice<UInt8>?
        for (type, whole, _) in NetfilterNetlink.attributes(attributes) {
            if type == Self.tupleOriginal { tuple = whole }
            if type == Self.zone { zone = whole }
        }
        guard let tuple else { return nil }
        var source: IPAddress?, destination: IPAddress?
        for (type, _, payload) in NetfilterNetlink.attributes(tuple.dropFirst(4)) where type == Self.tupleIP {
            for (kind, _, address) in NetfilterNetlink.attributes(payload) {
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
}
