/// A Linux network interface name: a VM's vif, a bridge or its uplink.
public struct InterfaceName: Hashable, Sendable, CustomStringConvertible {
    /// IFNAMSIZ less the terminating NUL.
    public static let maximumLength = 15

    public let rawValue: String

    /// Validates `text` as the kernel would accept it, and more strictly: only
    /// letters, digits, `-`, `_` and `.` (no `+`, which physdev reads as a wildcard).
    public init(_ text: String, field: String) throws(InputError) {
        func refuse(_ reason: String) -> InputError { InputError(field: field, value: text, reason: reason) }
        guard !text.isEmpty else { throw refuse("must not be empty") }
        guard text.utf8.count <= Self.maximumLength else {
            throw refuse("longer than \(Self.maximumLength) characters")
        }
        guard text != ".", text != "..",
              text.unicodeScalars.allSatisfy(\.isNameCharacter)
        else { throw refuse("only letters, digits, '-', '_' and '.' are allowed") }
        rawValue = text
    }

    public var description: String { rawValue }
}
