private import CNFTables
private import Glibc
public import SecurityGroupsCore

/// The `native` layout's tables: written over our own netlink (no text for
/// nft to parse, no cache of the kernel's rule set to fetch first), listed
/// through libnftables (in this process, loaded when first used).
public enum NativeTables {
    /// Replaces our tables with `ruleset`'s, or removes them (nil), in one
    /// transaction.
    public static func replace(with ruleset: NativeRuleset?) throws(NetfilterError) {
        let socket = try NetfilterNetlink(subject: "nf_tables")
        try socket.transact(NativeMessages.removal() + (ruleset?.tables.flatMap(NativeMessages.load) ?? []))
    }

    /// `nft list table` of each of our tables that exists.
    public static func listing() throws(NetfilterError) -> String {
        var text = ""
        for (family, number) in zip(NativeRuleset.families, [NFTablesChains.ipv4, NFTablesChains.ipv6, NFTablesChains.bridge]) {
            // Asked over netlink: nft's `list tables` reads the whole rule
            // set into its cache first (36 s and 1 GB beside a 5,000-VM host).
            guard try NFTablesChains.list(family: number).contains(where: { $0.table == NativeRuleset.tableName }) else { continue }
            text += try query("list table \(family) \(NativeRuleset.tableName)", operation: "nft list")
        }
        return text
    }

    private static func query(_ command: String, operation: String) throws(NetfilterError) -> String {
        var output: UnsafeMutablePointer<CChar>?
        var error: UnsafeMutablePointer<CChar>?
        defer {
            free(output)
            free(error)
        }
        guard sg_nft_query(command, &output, &error) == 0 else {
            throw NetfilterError(operation: operation, object: "nf_tables \(NativeRuleset.tableName)", reason: message(error))
        }
        return output.map { String(cString: $0) } ?? ""
    }

    /// nft's message on one line (it points at the failing text on the next ones).
    private static func message(_ error: UnsafeMutablePointer<CChar>?) -> String {
        let text = error.map { String(cString: $0) } ?? ""
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.allSatisfy { $0 == "^" || $0 == "~" } }
        return lines.isEmpty ? "libnftables failed without a message" : lines.joined(separator: " | ")
    }
}
