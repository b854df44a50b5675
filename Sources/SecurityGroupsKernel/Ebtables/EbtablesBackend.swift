import Foundation
import SecurityGroupsCore

/// ebtables through the nf_tables `ebtables-save` / `ebtables-restore
/// --noflush` tools, run directly (never through a shell): a batch is
/// applied atomically, and chains it does not name are untouched.
enum EbtablesBackend {
    static func save() throws(NetfilterError) -> KernelEbtablesState {
        let result = try ToolRunner.run(tool("save"), ["-t", "nat"], operation: "ebtables-save")
        return KernelEbtablesState.parseSave(result)
    }

    static func restore(_ lines: [String]) throws(NetfilterError) {
        guard !lines.isEmpty else { return }
        _ = try ToolRunner.run(tool("restore"), ["--noflush"], input: "*nat\n" + lines.joined(separator: "\n") + "\n",
                               operation: "ebtables-restore")
    }

    /// `ebtables-nft-<verb>` where installed, else `ebtables-<verb>`.
    private static func tool(_ verb: String) throws(NetfilterError) -> String {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            for name in ["ebtables-nft-\(verb)", "ebtables-\(verb)"] {
                let path = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        throw NetfilterError(operation: "find tool", object: "ebtables-\(verb)", reason: "not installed (Debian package iptables)")
    }
}
