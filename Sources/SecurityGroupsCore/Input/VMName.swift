/// A CloudStack instance name as the agent passes it: `i-<account>-<id>-<suffix>`
/// for guests, `r-`, `s-` or `v-<id>-<suffix>` for routers, secondary
/// storage and console proxy VMs.
public struct VMName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Longest name accepted. CloudStack builds at most 105 characters
    /// (`i-`, two 19-digit ids, a 63-character host name as the suffix when
    /// `vm.instancename.flag` is set); 200 keeps the rule logs' and state
    /// files' names, temporary ones included, within 255 bytes. Netfilter
    /// names derived from long names are shortened (`NetfilterNames`).
    public static let maximumLength = 200

    public enum Kind: Sendable, Hashable {
        /// A guest (`i-`): gets security group chains, sets and ebtables rules.
        case user
        /// A system VM (`r-`, `s-`, `v-`): gets one accept-all chain.
        case system
    }

    public let rawValue: String
    public let kind: Kind

    /// Validates `text`; the error names `field`.
    public init(_ text: String, field: String = "vmname") throws(InputError) {
        func refuse(_ reason: String) -> InputError { InputError(field: field, value: text, reason: reason) }
        guard !text.isEmpty else { throw refuse("must not be empty") }
        guard text.count <= Self.maximumLength else {
            throw refuse("longer than \(Self.maximumLength) characters")
        }
        guard text.unicodeScalars.allSatisfy(\.isNameCharacter) else {
            throw refuse("only letters, digits, '-', '_' and '.' are allowed")
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        switch parts.first {
        case "i":
            guard parts.count >= 4, parts[1].isDecimal, parts[2].isDecimal, parts.dropFirst(3).allSatisfy({ !$0.isEmpty }) else {
                throw refuse("a guest name has the form i-<account>-<id>-<suffix>")
            }
            kind = .user
        case "r", "s", "v":
            guard parts.count >= 3, parts[1].isDecimal, parts.dropFirst(2).allSatisfy({ !$0.isEmpty }) else {
                throw refuse("a system VM name has the form r-<id>-<suffix> (or s-, v-)")
            }
            kind = .system
        default:
            throw refuse("must start with i-, r-, s- or v-")
        }
        rawValue = text
    }

    public var description: String { rawValue }

    public static func < (lhs: VMName, rhs: VMName) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Substring {
    var isDecimal: Bool { !isEmpty && count <= 19 && allSatisfy(\.isASCIIDigit) }
}

extension Unicode.Scalar {
    /// ASCII letters, digits, `-`, `_` and `.`: what we accept in names that end
    /// up in kernel object names and file names. No shell metacharacters.
    var isNameCharacter: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
            || self == "-" || self == "_" || self == "."
    }
}
