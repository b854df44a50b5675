import Glibc
public import SecurityGroupsCore
import SecurityGroupsKernel

/// One packet exchange from a namespace to an address: a TCP connection, a
/// UDP datagram answered by the listener, or an ICMP echo. Delivered when the
/// answer comes back within the timeout.
public struct Probe: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case tcp, udp, icmp }

    public var kind: Kind
    /// The destination port (tcp and udp).
    public var port: UInt16
    public var destination: IPAddress
    /// The source address to send from; nil lets the kernel choose.
    public var source: IPAddress?

    public init(_ kind: Kind, to destination: IPAddress, port: UInt16 = 0, from source: IPAddress? = nil) {
        self.kind = kind
        self.destination = destination
        self.port = port
        self.source = source
    }

    public var description: String {
        let host = destination.family == .ipv6 ? "[\(destination)]" : "\(destination)"
        let text = kind == .icmp ? "icmp \(host)" : "\(kind.rawValue) \(host):\(port)"
        return source.map { "\(text) from \($0)" } ?? text
    }

    /// Sends the probe from `namespace` and waits up to `timeout` seconds.
    public func run(from namespace: String, timeout: Double = 0.7) throws -> Bool {
        let socket = try NamespaceThread.run(in: namespace) { try self.openSocket() }
        defer { close(socket) }
        switch kind {
        case .tcp:
            return try SocketAddress(destination, port: port).withPointer { address, length in
                guard connect(socket, address, length) == 0 || errno == EINPROGRESS else { return false }
                guard Self.wait(socket, for: Int16(POLLOUT), timeout: timeout) else { return false }
                var error: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &size)
                return error == 0
            }
        case .udp:
            let payload = Array("security-groups probe".utf8)
            _ = try SocketAddress(destination, port: port).withPointer { address, length in
                sendto(socket, payload, payload.count, 0, address, length)
            }
            guard Self.wait(socket, for: Int16(POLLIN), timeout: timeout) else { return false }
            var reply = [UInt8](repeating: 0, count: 256)
            return recv(socket, &reply, reply.count, 0) == payload.count
        case .icmp:
            return try echo(socket, timeout: timeout)
        }
    }

    private func openSocket() throws -> Int32 {
        let domain = destination.family == .ipv4 ? AF_INET : AF_INET6
        let descriptor: Int32
        switch kind {
        case .tcp: descriptor = socket(domain, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        case .udp: descriptor = socket(domain, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        case .icmp:
            descriptor = socket(domain, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                                destination.family == .ipv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6))
        }
        guard descriptor >= 0 else { throw SandboxError("socket for \(self): \(String(cString: strerror(errno)))") }
        if let source {
            guard SocketAddress(source, port: 0).withPointer({ bind(descriptor, $0, $1) }) == 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw SandboxError("bind \(source) for \(self): \(reason)")
            }
        }
        return descriptor
    }

    /// An echo request with a random identifier; waits for the matching reply.
    private func echo(_ socket: Int32, timeout: Double) throws -> Bool {
        let identifier = UInt16.random(in: 1...UInt16.max)
        let isIPv4 = destination.family == .ipv4
        var request: [UInt8] = [isIPv4 ? 8 : 128, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), 0, 1]
        request += Array("security-groups".utf8)
        if isIPv4 {
            // ICMPv6 checksums are filled in by the kernel; ICMP ones are ours.
            let sum = Self.checksum(request)
            request[2] = UInt8(sum >> 8)
            request[3] = UInt8(sum & 0xff)
        }
        _ = try SocketAddress(destination, port: 0).withPointer { address, length in
            sendto(socket, request, request.count, 0, address, length)
        }
        let deadline = MonotonicClock.now() + timeout
        var reply = [UInt8](repeating: 0, count: 1500)
        while MonotonicClock.now() < deadline {
            guard Self.wait(socket, for: Int16(POLLIN), timeout: deadline - MonotonicClock.now()) else { return false }
            let count = recv(socket, &reply, reply.count, 0)
            guard count > 0 else { continue }
            // Raw IPv4 sockets deliver the IP header too.
            let start = isIPv4 ? Int(reply[0] & 0x0f) * 4 : 0
            guard count >= start + 8 else { continue }
            let type = reply[start], id = UInt16(reply[start + 4]) << 8 | UInt16(reply[start + 5])
            if type == (isIPv4 ? 0 : 129), id == identifier { return true }
        }
        return false
    }

    private static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        for index in stride(from: 0, to: bytes.count, by: 2) {
            sum += UInt32(bytes[index]) << 8 | UInt32(index + 1 < bytes.count ? bytes[index + 1] : 0)
        }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func wait(_ socket: Int32, for events: Int16, timeout: Double) -> Bool {
        var entry = pollfd(fd: socket, events: events, revents: 0)
        return poll(&entry, 1, Int32(max(0, timeout) * 1000)) == 1 && entry.revents & events != 0
    }

}

/// A `sockaddr_in` or `sockaddr_in6` for an address and port.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private let length: socklen_t

    init(_ address: IPAddress, port: UInt16) {
        switch address {
        case .v4(let v4):
            var value = sockaddr_in()
            value.sin_family = sa_family_t(AF_INET)
            value.sin_port = port.bigEndian
            value.sin_addr.s_addr = v4.value.bigEndian
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: value) { target.copyMemory(from: $0) } }
        case .v6(let v6):
            var value = sockaddr_in6()
            value.sin6_family = sa_family_t(AF_INET6)
            value.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &value.sin6_addr) { bytes in
                for (index, group) in v6.groups.enumerated() {
                    bytes[index * 2] = UInt8(group >> 8)
                    bytes[index * 2 + 1] = UInt8(group & 0xff)
                }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: value) { target.copyMemory(from: $0) } }
        }
    }

    func withPointer<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
        var copy = storage
        return try withUnsafePointer(to: &copy) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}

/// A sandbox step that failed, in one line.
public struct SandboxError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
