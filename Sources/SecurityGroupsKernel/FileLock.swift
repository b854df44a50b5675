import Foundation
private import Glibc

/// An exclusive `flock` on a file: the xtables lock every iptables user
/// takes, and the script's command lock. Waited for on a thread of its own,
/// so a caller can wait for something else at the same time (`ready`), or
/// give up after a timeout; when it stops waiting, the lock, if it comes, is
/// let go at once.
public final class FileLock: @unchecked Sendable {
    private let path: String
    private let descriptor: Int32
    private let signal: (read: Int32, write: Int32)
    private let state = NSLock()
    private var held = false
    private var released = false
    private var failure: NetfilterError?
    private var waitedSeconds = 0.0

    /// Waits until the lock is held, up to `timeout` seconds (nil: as long as it takes).
    /// `inheritable`: the descriptor survives exec, so programs started
    /// while it is held hold it too, until they exit.
    public convenience init(path: String, inheritable: Bool = false, mode: UInt32 = 0o600, timeout: Double? = nil) throws(NetfilterError) {
        try self.init(waitingFor: path, inheritable: inheritable, mode: mode)
        try waitUntilHeld(timeout: timeout)
    }

    /// Starts waiting for the lock; `ready` becomes readable once it is held
    /// (or the wait failed: `check`).
    public init(waitingFor path: String, inheritable: Bool = false, mode: UInt32 = 0o600) throws(NetfilterError) {
        self.path = path
        descriptor = open(path, O_CREAT | O_RDWR | (inheritable ? 0 : O_CLOEXEC), mode_t(mode))
        guard descriptor >= 0 else { throw Self.error("open lock", path) }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let failure = Self.error("lock", path)
            close(descriptor)
            throw failure
        }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        signal = (ends[0], ends[1])
        let started = MonotonicClock.now()
        Thread.detachNewThread { [self] in
            var result = flock(descriptor, LOCK_EX)
            while result != 0, errno == EINTR { result = flock(descriptor, LOCK_EX) }
            let failure = result == 0 ? nil : Self.error("lock", path)
            state.withLock {
                if released {
                    flock(descriptor, LOCK_UN)
                    close(descriptor)
                } else if let failure {
                    self.failure = failure
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
    public var ready: Int32 { signal.read }

    /// Whether the lock is held; throws when waiting for it failed.
    public func check() throws(NetfilterError) -> Bool {
        let (isHeld, failure) = state.withLock { (held, self.failure) }
        if let failure { throw failure }
        return isHeld
    }

    /// Seconds spent waiting for the lock.
    public var waited: Double { state.withLock { waitedSeconds } }

    /// Waits until the lock is held, up to `timeout` seconds (nil: as long as it takes).
    public func waitUntilHeld(timeout: Double? = nil) throws(NetfilterError) {
        let deadline = timeout.map { MonotonicClock.now() + $0 }
        var entry = pollfd(fd: ready, events: Int16(POLLIN), revents: 0)
        while try !check() {
            let left = deadline.map { $0 - MonotonicClock.now() }
            if let left, left <= 0 {
                release()
                throw NetfilterError(operation: "lock", object: path, reason: "held by another process for \(Int(timeout ?? 0)) s")
            }
            _ = poll(&entry, 1, left.map { Int32(max(1, $0 * 1000)) } ?? -1)
        }
    }

    /// Lets go of the lock, or stops waiting for it.
    public func release() {
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

    private static func error(_ operation: String, _ path: String) -> NetfilterError {
        let code = errno
        return NetfilterError(operation: operation, object: path, reason: String(cString: strerror(code)), errno: code)
    }
}
