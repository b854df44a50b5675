private import Glibc

/// The lock every iptables user on the host takes: `flock` on
/// `/run/xtables.lock` (or `$XTABLES_LOCKFILE`), held from reading a table to
/// committing it, so no one's rule is lost in between. The lock file is the
/// same inside network namespaces: one lock for the whole host.
final class XtablesLock {
    static var path: String {
        if let override = getenv("XTABLES_LOCKFILE"), override.pointee != 0 { return String(cString: override) }
        return "/run/xtables.lock"
    }

    private let descriptor: Int32

    /// Waits for the lock like `iptables -w`, up to `timeout` seconds.
    init(timeout: Double = 60) throws(NetfilterError) {
        let path = Self.path
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            throw NetfilterError(operation: "open lock", object: path, reason: String(cString: strerror(code)), errno: code)
        }
        let deadline = MonotonicClock.now() + timeout
        var wait: useconds_t = 1_000
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(descriptor)
                throw NetfilterError(operation: "lock", object: path, reason: String(cString: strerror(code)), errno: code)
            }
            guard MonotonicClock.now() < deadline else {
                close(descriptor)
                throw NetfilterError(operation: "lock", object: path, reason: "held by another process for \(Int(timeout)) s")
            }
            usleep(wait)
            wait = min(wait * 2, 50_000)
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

}
