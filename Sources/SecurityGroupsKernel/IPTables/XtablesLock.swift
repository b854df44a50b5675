private import Glibc

/// The lock every iptables user on the host takes: `flock` on
/// `/run/xtables.lock` (or `$XTABLES_LOCKFILE`), held from reading a table to
/// committing it, so no one's rule is lost in between. The lock file is the
/// same inside network namespaces: one lock for the whole host.
enum XtablesLock {
    static var path: String {
        if let override = getenv("XTABLES_LOCKFILE"), override.pointee != 0 { return String(cString: override) }
        return "/run/xtables.lock"
    }

    /// Waits for the lock like `iptables -w`, up to `timeout` seconds.
    static func take(timeout: Double = 60) throws(NetfilterError) -> FileLock {
        try FileLock(path: path, timeout: timeout)
    }
}
