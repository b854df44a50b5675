import Glibc
public import SecurityGroupsCore

/// A gratuitous ARP request ("`address` is at `mac`"), broadcast from a
/// namespace's `eth0` through a packet socket, as a VM trying to take over
/// an address would send it.
public struct ARPAnnouncement: Sendable {
    public var address: IPv4Address
    public var mac: MACAddress

    public init(_ address: IPv4Address, isAt mac: MACAddress) {
        self.address = address
        self.mac = mac
    }

    public func send(from namespace: String) throws {
        let frame = self.frame
        try NamespaceThread.run(in: namespace) {
            let ethernetARP: UInt16 = 0x0806
            let descriptor = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(ethernetARP.bigEndian))
            guard descriptor >= 0 else { throw SandboxError("packet socket in \(namespace): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            let index = if_nametoindex("eth0")
            guard index > 0 else { throw SandboxError("no eth0 in \(namespace)") }
            // struct sockaddr_ll: family, protocol, ifindex, hatype, pkttype, halen, addr[8].
            var link = [UInt8](repeating: 0, count: 20)
            withUnsafeBytes(of: UInt16(AF_PACKET)) { link.replaceSubrange(0..<2, with: $0) }
            withUnsafeBytes(of: ethernetARP.bigEndian) { link.replaceSubrange(2..<4, with: $0) }
            withUnsafeBytes(of: Int32(index)) { link.replaceSubrange(4..<8, with: $0) }
            link[11] = 6
            link.replaceSubrange(12..<18, with: [UInt8](repeating: 0xff, count: 6))
            let sent = link.withUnsafeBytes { linkBytes in
                sendto(descriptor, frame, frame.count, 0, linkBytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), 20)
            }
            guard sent == frame.count else { throw SandboxError("send ARP in \(namespace): \(String(cString: strerror(errno)))") }
        }
    }

    /// Ethernet broadcast, ARP request with sender and target both `address`.
    var frame: [UInt8] {
        let macBytes = mac.octets
        let ipBytes = withUnsafeBytes(of: address.value.bigEndian) { Array($0) }
        return [UInt8](repeating: 0xff, count: 6) + macBytes + [0x08, 0x06]
            + [0, 1, 0x08, 0x00, 6, 4, 0, 1] + macBytes + ipBytes + [UInt8](repeating: 0, count: 6) + ipBytes
    }
}
