/// A failed kernel operation: what we tried, on which object, and why, with
/// the library's own words read right after the call that failed.
public struct NetfilterError: Error, Equatable, CustomStringConvertible, Sendable {
    /// E.g. `iptables commit`, `ipset add`, `ebtables-restore`.
    public var operation: String
    /// E.g. `ipv4 filter`, `i-2-7-VM`, `chain i-2-7-def`.
    public var object: String
    public var reason: String
    /// The errno, when the failure came with one.
    public var errno: Int32?

    public init(operation: String, object: String, reason: String, errno: Int32? = nil) {
        self.operation = operation
        self.object = object
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "\(operation) \(object): \(reason)" }
}
