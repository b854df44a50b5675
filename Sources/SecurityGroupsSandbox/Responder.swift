import Foundation
import Glibc

/// Answers probes in some namespaces until stopped: TCP listeners whose
/// connections echo what they receive until the peer closes, UDP sockets
/// that echo each datagram, all dual-stack, served by one thread. ICMP
/// echoes are answered by the kernel itself.
public final class Responder: @unchecked Sendable {
    private var listeners: [(descriptor: Int32, isTCP: Bool)] = []
    private let wake: [Int32]
    private let stopped = DispatchSemaphore(value: 0)

    public init(namespaces: [String], tcpPorts: [UInt16], udpPorts: [UInt16]) throws {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw SandboxError("pipe: \(String(cString: strerror(errno)))") }
        wake = pipeEnds
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        do {
            for namespace in namespaces {
                for port in tcpPorts { listeners.append((try Self.listen(in: namespace, port: port, tcp: true), true)) }
                for port in udpPorts { listeners.append((try Self.listen(in: namespace, port: port, tcp: false), false)) }
            }
        } catch {
            close()
            throw error
        }
        Thread { self.serve() }.start()
    }

    /// Stops serving and closes every socket.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(wake[1], &byte, 1)
        stopped.wait()
        close()
    }

    private func close() {
        for listener in listeners { Glibc.close(listener.descriptor) }
        listeners = []
        wake.forEach { Glibc.close($0) }
    }

    private func serve() {
        var connections: [Int32] = []
        defer { connections.forEach { Glibc.close($0) } }
        while true {
            var entries = [pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
                + (listeners.map(\.descriptor) + connections).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&entries, nfds_t(entries.count), -1) >= 0 || errno == EINTR else { break }
            if entries[0].revents != 0 { break }
            for (index, entry) in entries.enumerated().dropFirst() where entry.revents != 0 {
                if index - 1 >= listeners.count {
                    if !echo(connection: entry.fd) {
                        Glibc.close(entry.fd)
                        connections.removeAll { $0 == entry.fd }
                    }
                } else if listeners[index - 1].isTCP {
                    let connection = accept(entry.fd, nil, nil)
                    if connection >= 0 { connections.append(connection) }
                } else {
                    echo(datagramOn: entry.fd)
                }
            }
        }
        stopped.signal()
    }

    /// Echoes what a connection sent; false once it is closed.
    private func echo(connection: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = recv(connection, &buffer, buffer.count, 0)
        guard count > 0 else { return false }
        return send(connection, buffer, count, Int32(MSG_NOSIGNAL)) == count
    }

    private func echo(datagramOn socket: Int32) {
        var buffer = [UInt8](repeating: 0, count: 2048)
        var sender = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &sender) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { return }
        _ = withUnsafePointer(to: &sender) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, buffer, count, 0, $0, length) }
        }
    }

    private static func listen(in namespace: String, port: UInt16, tcp: Bool) throws -> Int32 {
        try NamespaceThread.run(in: namespace) {
            let kind = tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
            let descriptor = socket(AF_INET6, kind | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard descriptor >= 0 else { throw SandboxError("socket in \(namespace): \(String(cString: strerror(errno)))") }
            var off: Int32 = 0, on: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            let bound = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
            guard bound == 0, !tcp || Glibc.listen(descriptor, 64) == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(descriptor)
                throw SandboxError("listen on \(tcp ? "tcp" : "udp") port \(port) in \(namespace): \(reason)")
            }
            return descriptor
        }
    }
}
