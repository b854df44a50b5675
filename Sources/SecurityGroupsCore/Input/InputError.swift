/// A CloudStack argument or host-file value that failed validation.
///
/// `description` is the one line shown to the operator: the field, the
/// offending value and the reason.
public struct InputError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The argument or JSON path, e.g. `vmmac` or `vms[0].nics[1].ipv4`.
    public var field: String
    /// The value as given.
    public var value: String
    /// Why it was refused.
    public var reason: String

    public init(field: String, value: String, reason: String) {
        self.field = field
        self.value = value
        self.reason = reason
    }

    public var description: String {
        "invalid \(field) '\(value.printableForError)': \(reason)"
    }

    /// The same error reported under another field name.
    func at(_ field: String) -> InputError {
        InputError(field: field, value: value, reason: reason)
    }
}

extension String {
    /// Control characters escaped and length capped, so an error stays one line.
    var printableForError: String {
        var out = ""
        for scalar in unicodeScalars.prefix(120) {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if unicodeScalars.count > 120 { out += "..." }
        return out
    }
}
