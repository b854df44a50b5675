/// The `ipset save` text of sets: `create` lines with the kernel's defaults,
/// then one `add` line per member.
public enum IPSetSaveFormat {
    public static func text(_ sets: [IPSet]) -> String {
        var out = ""
        for set in sets {
            let family = set.family == .ipv4 ? "inet" : "inet6"
            out += "create \(set.name) \(set.type.rawValue) family \(family) hashsize 1024 maxelem 65536 bucketsize 12\n"
            for member in set.members { out += "add \(set.name) \(member)\n" }
        }
        return out
    }
}
