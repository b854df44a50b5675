import SecurityGroupsCore

/// The domain id in a rule log (`vm,vmid,vmip,domid,signature,seqno`) is
/// libvirt's, and libvirt takes some 15 ms to load (on a thread of its own:
/// `HostBackend.prepareLibvirt`). So that a command's kernel change does not
/// wait for it, the log a command leaves in its batch names the domain by a
/// placeholder, replaced with libvirt's answer when the files are written
/// (`Batch.perform`), or before when two logs must be compared.
enum DomainIDPlaceholder {
    /// Placeholders are `\u{1}domid <vm>\u{1}`: VM names hold no control characters.
    private static let mark: Character = "\u{1}"
    private static let prefix = "domid "

    /// Stands for the domain id of `name`.
    static func of(_ name: VMName) -> String { "\(mark)\(prefix)\(name.rawValue)\(mark)" }

    /// `text` with every placeholder replaced by the id `lookup` gives for its domain's name.
    static func resolve(_ text: String, _ lookup: (String) throws -> String) rethrows -> String {
        guard text.contains(mark) else { return text }
        var result = ""
        for (index, part) in text.split(separator: mark, omittingEmptySubsequences: false).enumerated() {
            result += index % 2 == 1 ? try lookup(String(part.dropFirst(prefix.count))) : String(part)
        }
        return result
    }
}
