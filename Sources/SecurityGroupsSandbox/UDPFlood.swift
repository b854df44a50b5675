import Glibc
public import SecurityGroupsCore
import SecurityGroupsKernel

/// Many distinct UDP flows at one address, from a namespace: flow i comes
/// from source port 10,000 + i mod 50,000 (clear of the ports the sandbox
/// listens on) and goes to the (i / 50,000)th destination port, so every
/// flow is a 5-tuple of its own. Counts the echoes that come back.
public struct UDPFlood: Sendable {
    public static let sourcePorts = 50_000

    public var flows: Int
    public var destination: IPAddress
    public var ports: [UInt16]

    /// `ports` must hold at least flows / 50,000 (rounded up) ports.
    public init(flows: Int, to destination: IPAddress, ports: [UInt16]) {
        self.flows = flows
        self.destination = destination
        self.ports = ports
    }

    public struct Outcome: Sendable {
        public var sent = 0
        public var answered = 0
    }

    /// Sends one datagram per flow in batches, each flow from a socket bound
    /// to its source port, and collects each batch's echoes.
    public func run(from namespace: String, batch: Int = 100, timeout: Double = 0.5) throws -> Outcome {
        guard flows <= ports.count * Self.sourcePorts else {
            throw SandboxError("\(flows) flows need \((flows + Self.sourcePorts - 1) / Self.sourcePorts) destination ports")
        }
        var outcome = Outcome()
        let payload = Array("flood".utf8)
        let source: IPAddress = destination.family == .ipv4 ? .v4(IPv4Address(0)) : .v6(IPv6Address(high: 0, low: 0))
        while outcome.sent < flows {
            let first = outcome.sent, count = min(batch, flows - outcome.sent)
            let sockets = try NamespaceThread.run(in: namespace) { () throws -> [Int32] in
                try (first..<first + count).map { flow in
                    let descriptor = socket(source.family == .ipv4 ? AF_INET : AF_INET6,
                                            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                    guard descriptor >= 0 else { throw SandboxError("socket: \(String(cString: strerror(errno)))") }
                    let port = UInt16(10_000 + flow % Self.sourcePorts)
                    guard SocketAddress(source, port: port).withPointer({ bind(descriptor, $0, $1) }) == 0 else {
                        let reason = String(cString: strerror(errno))
                        close(descriptor)
                        throw SandboxError("bind udp port \(port): \(reason)")
                    }
                    return descriptor
                }
            }
            defer { sockets.forEach { close($0) } }
            for (offset, socket) in sockets.enumerated() {
                let address = SocketAddress(destination, port: ports[(first + offset) / Self.sourcePorts])
                _ = address.withPointer { sendto(socket, payload, payload.count, 0, $0, $1) }
            }
            outcome.sent += count
            var pending = Set(sockets)
            let deadline = MonotonicClock.now() + timeout
            while !pending.isEmpty, MonotonicClock.now() < deadline {
                var entries = pending.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                guard poll(&entries, nfds_t(entries.count), Int32((deadline - MonotonicClock.now()) * 1000)) > 0 else { break }
                var buffer = [UInt8](repeating: 0, count: 64)
                for entry in entries where entry.revents & Int16(POLLIN) != 0 {
                    if recv(entry.fd, &buffer, buffer.count, 0) > 0 { outcome.answered += 1 }
                    pending.remove(entry.fd)
                }
            }
        }
        return outcome
    }
}
