import Glibc
public import SecurityGroupsCore
import SecurityGroupsKernel

/// A TCP connection from a namespace to a responder, kept open: it shows
/// whether an established flow survives a change of rules.
public final class TCPSession {
    private let socket: Int32

    /// Connects, or throws when the connection is not accepted in time.
    public init(from namespace: String, to destination: IPAddress, port: UInt16, timeout: Double = 0.7) throws {
        let probe = Probe(.tcp, to: destination, port: port)
        socket = try NamespaceThread.run(in: namespace) {
            let descriptor = Glibc.socket(destination.family == .ipv4 ? AF_INET : AF_INET6,
                                          Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { throw SandboxError("socket: \(String(cString: strerror(errno)))") }
            return descriptor
        }
        let started = SocketAddress(destination, port: port).withPointer { connect(socket, $0, $1) == 0 || errno == EINPROGRESS }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard started, Probe.wait(socket, for: Int16(POLLOUT), timeout: timeout),
              getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &size) == 0, error == 0 else {
            close(socket)
            throw SandboxError("\(probe) from \(namespace): not connected")
        }
    }

    deinit { close(socket) }

    /// Sends `text` and whether the same text comes back in time.
    public func exchange(_ text: String = "still there?", timeout: Double = 0.7) -> Bool {
        let bytes = Array(text.utf8)
        guard send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return false }
        var received: [UInt8] = []
        let deadline = MonotonicClock.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 2048)
        while received.count < bytes.count, Probe.wait(socket, for: Int16(POLLIN), timeout: deadline - MonotonicClock.now()) {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            received += buffer[..<count]
        }
        return received == bytes
    }
}
