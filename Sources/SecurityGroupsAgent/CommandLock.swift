import Foundation
private import Glibc
import SecurityGroupsKernel

/// The script's own lock (`flock` on `/var/lock/cloudstack_security_group.lock`)
/// held while commands change the host, so our binary and the script never
/// run over each other during a migration.
///
/// Waited for as long as another process holds it (the agent gives a command
/// 30 minutes): unlike the script, which runs without it after 15 s, and
/// unlike a command that gives up and leaves a VM without rules. The wait
/// runs on a thread of its own, so a caller can wait for something else at
/// the same time (`ready`). The descriptor is not closed on exec: the
/// programs a command starts (`ebtables-nft-restore`) hold the lock too, so a
/// command killed while one of them still writes keeps the next one out
/// until it is done.
public final class CommandLock: @unchecked Sendable {
    private let path: String
    private let descriptor: Int32
    private let signal: (read: Int32, write: Int32)
    private let state = NSLock()
    private var held = false
    private var released = false
    private var failure: String?
    private var waitedSeconds = 0.0

    /// Waits until the lock is held.
    public convenience init(path: String) throws(AgentError) {
        try self.init(waitingFor: path)
        try waitUntilHeld()
    }

    /// Starts waiting for the lock; `ready` becomes readable once it is held
    /// (or the wait failed: `check`).
    init(waitingFor path: String) throws(AgentError) {
        self.path = path
        descriptor = open(path, O_CREAT | O_WRONLY, 0o644)
        guard descriptor >= 0 else { throw AgentError("lock \(path): \(String(cString: strerror(errno)))") }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0, fcntl(ends[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(ends[1], F_SETFD, FD_CLOEXEC) == 0 else {
            close(descriptor)
            throw AgentError("lock \(path): pipe: \(String(cString: strerror(errno)))")
        }
        signal = (ends[0], ends[1])
        let started = MonotonicClock.now()
        Thread.detachNewThread { [self] in
            var result = flock(descriptor, LOCK_EX)
            while result != 0, errno == EINTR { result = flock(descriptor, LOCK_EX) }
            let reason = result == 0 ? nil : String(cString: strerror(errno))
            state.withLock {
                if released {
                    flock(descriptor, LOCK_UN)
                    close(descriptor)
                } else if let reason {
                    failure = "lock \(path): \(reason)"
                } else {
                    held = true
                    waitedSeconds = MonotonicClock.now() - started
                }
            }
            var byte: UInt8 = 1
            _ = write(signal.write, &byte, 1)
        }
    }

    deinit {
        release()
        close(signal.read)
        close(signal.write)
    }

    /// Readable once the lock is held or the wait failed.
    var ready: Int32 { signal.read }

    /// Whether the lock is held; throws when waiting for it failed.
    func check() throws(AgentError) -> Bool {
        let (isHeld, failure) = state.withLock { (held, self.failure) }
        if let failure { throw AgentError(failure) }
        return isHeld
    }

    /// Seconds spent waiting for the lock.
    public var waited: Double { state.withLock { waitedSeconds } }

    func waitUntilHeld() throws(AgentError) {
        var descriptor = pollfd(fd: ready, events: Int16(POLLIN), revents: 0)
        while try !check() { _ = poll(&descriptor, 1, -1) }
    }

    /// Lets go of the lock, or stops waiting for it.
    func release() {
        state.withLock {
            guard !released else { return }
            released = true
            if held {
                flock(descriptor, LOCK_UN)
                close(descriptor)
                held = false
            } else if failure != nil {
                close(descriptor)
            }
        }
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
