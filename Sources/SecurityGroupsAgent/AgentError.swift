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
