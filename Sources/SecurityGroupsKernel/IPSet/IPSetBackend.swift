private import CIPSet
private import Glibc
import SecurityGroupsCore

/// ipset through libipset, in-process: nothing is printed, errors come back
/// as `NetfilterError`s.
enum IPSetBackend {
    /// Every set and its members (`ipset save`), or only the named ones that exist.
    static func save(names: [String]? = nil) throws(NetfilterError) -> [KernelSet] {
        guard let names else { return try save(set: nil) }
        var sets: [KernelSet] = []
        for name in names { sets += try save(set: name) }
        return sets
    }

    private static func save(set: String?) throws(NetfilterError) -> [KernelSet] {
        var error = [CChar](repeating: 0, count: 512)
        var missing: Int32 = 0
        guard let text = sg_ipset_save(set, &missing, &error, error.count) else {
            if missing != 0 { return [] }
            throw NetfilterError(operation: "ipset save", object: set ?? "all sets", reason: message(error))
        }
        defer { free(text) }
        return KernelSet.parseSave(String(cString: text))
    }

    /// The names of all sets (`ipset list -n`: no members, cheap on a large host).
    static func names() throws(NetfilterError) -> [String] {
        var error = [CChar](repeating: 0, count: 512)
        guard let text = sg_ipset_names(&error, error.count) else {
            throw NetfilterError(operation: "ipset list -n", object: "all sets", reason: message(error))
        }
        defer { free(text) }
        return String(cString: text).split(separator: "\n").map(String.init)
    }

    /// Runs commands in `ipset restore` syntax in one fresh session. Not
    /// atomic: on failure, the commands before the failing one stay applied.
    /// A set still referenced by a rule that is gone (nf_tables drops a
    /// compat match's reference in work deferred after the commit) is
    /// waited for, up to `releaseWait` seconds.
    static func run(_ commands: [String], releaseWait: Double = 0) throws(NetfilterError) {
        var remaining = commands[...]
        let deadline = MonotonicClock.now() + releaseWait
        var pause: useconds_t = 500
        while !remaining.isEmpty {
            var error = [CChar](repeating: 0, count: 512)
            let done = Int(withCStrings(Array(remaining)) { pointers in
                sg_ipset_run(pointers, Int32(remaining.count), &error, error.count)
            })
            let failed = remaining.startIndex + done
            if failed == remaining.endIndex { return }
            let reason = message(error)
            remaining = remaining[failed...]
            if reason.contains(referenced), MonotonicClock.now() < deadline {
                usleep(pause)
                pause = min(pause * 2, 50_000)
                continue
            }
            throw NetfilterError(operation: "ipset", object: "'\(commands[failed])'",
                                 reason: reason + " (\(failed) of \(commands.count) commands applied)")
        }
    }

    /// libipset's message for IPSET_ERR_REFERENCED.
    private static let referenced = "it is in use by a kernel component"

    private static func message(_ buffer: [CChar]) -> String {
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init) ?? "unknown error"
    }
}

/// Calls `body` with a C array of C strings that live for the call.
func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
