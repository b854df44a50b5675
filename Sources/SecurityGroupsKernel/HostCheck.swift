import Foundation
import SecurityGroupsCore

/// Refuses hosts where rules written to legacy x_tables would not be the
/// ones the rest of the host sees.
public enum HostCheck {
    /// Checks that a host whose `iptables` is the nf_tables variant does not
    /// already keep CloudStack's rules there (the script would have written
    /// them with that `iptables`). That legacy x_tables works at all shows
    /// when the first table is opened.
    public static func verify(allowNFTables: Bool) throws(NetfilterError) {
        guard !allowNFTables, let iptables = iptablesVariant(), iptables.contains("nft") else { return }
        let saved = (try? RunningTool("/usr/sbin/iptables-nft-save", ["-t", "filter"], operation: "iptables-nft-save").finish()) ?? ""
        let cloudStackChains = saved.split(separator: "\n").filter { line in
            line.hasPrefix(":") && Ownership.ownsChain(String(line.dropFirst().prefix { $0 != " " }))
        }
        if !cloudStackChains.isEmpty {
            throw NetfilterError(
                operation: "host check", object: "iptables (\(iptables))",
                reason: "this host's iptables is the nf_tables variant and holds \(cloudStackChains.count) CloudStack chain(s) there; "
                    + "rules we write to legacy x_tables would not be the ones in force (switch the host to iptables-legacy, "
                    + "or pass --allow-nft-host)")
        }
    }

    /// Where `/usr/sbin/iptables` finally points, e.g. `/usr/sbin/xtables-nft-multi`.
    static func iptablesVariant() -> String? {
        let path = "/usr/sbin/iptables"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}
