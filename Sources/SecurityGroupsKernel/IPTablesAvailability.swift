import Foundation
import SecurityGroupsCore

/// Quick checks of what the host offers, for `can_bridge_firewall` and `cleanup_rules`.
public enum IPTablesAvailability {
    public static func ebtablesInstalled() -> Bool {
        (try? EbtablesBackend.tool("ebtables", verb: "restore")) != nil
    }

    /// VM chains in the IPv4 filter table, as `cleanup_rules` looks for
    /// them: `i-`, `r-`, `s-`, `v-` chains other than `-def` and `-eg` ones.
    public static func vmChainNames() throws(NetfilterError) -> [String] {
        var codec = RuleCodec()
        let table = try IPTablesHandle(family: .ipv4, table: .filter).read(codec: &codec, scope: .vms([], vifs: []))
        return (Array(table.chains.keys) + Array(table.otherChains)).filter {
            Ownership.isVMObjectName($0) && !$0.hasSuffix("-def") && !$0.hasSuffix("-eg")
        }.sorted()
    }
}
