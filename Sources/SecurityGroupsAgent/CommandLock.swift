private import Glibc

/// The script's own lock (`flock` on `/var/lock/cloudstack_security_group.lock`)
/// held for a whole command, so our binary and the script never run over
/// each other during a migration.
public final class CommandLock {
    private let descriptor: Int32

    /// Tries like the script: 30 times, half a second apart (about 15 s);
    /// unlike the script, gives up with an error instead of running unlocked.
    public init(path: String, attempts: Int = 30, interval: Double = 0.5) throws(AgentError) {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw AgentError("lock \(path): \(String(cString: strerror(code)))")
        }
        var attempt = 1
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw AgentError("lock \(path): \(reason)")
            }
            guard attempt < attempts else {
                close(descriptor)
                throw AgentError("lock \(path): held by another process for \(Int(Double(attempts) * interval)) s")
            }
            attempt += 1
            usleep(useconds_t(interval * 1_000_000))
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// A failed agent command: one line for the operator, and what kind of
/// failure it was, so the exit status tells bad input from a failing host.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// An argument or the configuration was refused; nothing was changed.
        case badInput
        /// The kernel, libvirt, the file system or the host refused or failed.
        case failure
    }

    public let description: String
    public let kind: Kind
    public init(_ description: String, kind: Kind = .failure) {
        self.description = description
        self.kind = kind
    }

    /// The exit status: 2 for bad input (as argparse uses), 1 otherwise.
    public var exitStatus: Int32 { kind == .badInput ? 2 : 1 }
}
