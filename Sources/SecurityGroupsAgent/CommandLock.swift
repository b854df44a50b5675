private import Glibc

/// The script's own lock (`flock` on `/var/lock/cloudstack_security_group.lock`)
/// held while commands change the host, so our binary and the script never
/// run over each other during a migration.
public final class CommandLock {
    private let descriptor: Int32
    /// Seconds spent waiting for the lock.
    public let waited: Double

    /// Waits for the lock as long as another process holds it (the agent
    /// gives a command 30 minutes): unlike the script, which runs without
    /// it after 15 s, and unlike a command that gives up and leaves a VM
    /// without rules. Not closed on exec: the programs a command starts
    /// (`ebtables-nft-restore`) hold the lock too, so a command killed while
    /// one of them still writes keeps the next one out until it is done.
    public init(path: String) throws(AgentError) {
        let descriptor = open(path, O_CREAT | O_WRONLY, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw AgentError("lock \(path): \(String(cString: strerror(code)))")
        }
        let started = Self.now()
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw AgentError("lock \(path): \(reason)")
            }
        }
        self.descriptor = descriptor
        waited = Self.now() - started
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
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
