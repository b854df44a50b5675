/// One change an apply makes (or, in a dry run, would make), in the
/// syntax of the tool that would make it.
public struct NetfilterChange: Equatable, Sendable {
    /// Where: `iptables filter`, `ip6tables raw`, `ipset`, `ebtables nat`, `conntrack`.
    public var table: String
    /// The chain or set changed; empty for conntrack.
    public var object: String
    /// `-A CHAIN …`, `-D CHAIN 3`, `add SET MEMBER`, `-X CHAIN`, …
    public var line: String

    public init(table: String, object: String, line: String) {
        self.table = table
        self.object = object
        self.line = line
    }

    /// An edit of an iptables table (`object`: e.g. `iptables filter`).
    public static func iptables(_ table: String, _ edit: TableEdit) -> NetfilterChange {
        NetfilterChange(table: table, object: edit.chain, line: edit.description)
    }

    /// A line of an `ipset restore` or `ebtables-restore` batch: the object is its second word.
    public static func batchLine(_ table: String, _ line: String) -> NetfilterChange {
        let words = line.split(separator: " ", maxSplits: 2)
        return NetfilterChange(table: table, object: words.count > 1 ? String(words[1]) : "", line: line)
    }

    /// Whether the change is `vm`'s: to one of its own chains or sets, or in
    /// a shared chain or set, naming one of its interfaces, addresses or chains.
    public func concerns(_ vm: VirtualMachine) -> Bool {
        let names = NetfilterNames(vm.name)
        let own = [names.vmChain, names.egressChain, names.defaultChain, names.ipv4Set, names.ipv6Set] + names.ebtablesChains
        if own.contains(object) || names.isPeerSet(object) { return true }
        let addresses = AddressFamily.allCases.flatMap { family in vm.nics.flatMap { $0.addresses(family) } }
        let words = Set(own + vm.nics.map(\.vif.rawValue) + addresses.flatMap { address in
            [address.description, "\(address)/\(address.family == .ipv4 ? 32 : 128)"]
        })
        // A member `ADDRESS,physdev:PORT` is the address's.
        return line.split(separator: " ").contains { words.contains(String($0.prefix { $0 != "," })) }
    }

    /// Changes as text: each table's lines under a `*table` header.
    public static func text(_ changes: [NetfilterChange]) -> [String] {
        var lines: [String] = []
        var table: String?
        for change in changes {
            if change.table != table, change.table != "ipset", change.table != "conntrack" { lines.append("*\(change.table)") }
            table = change.table
            lines.append(change.line)
        }
        return lines
    }
}

extension TableEdit {
    /// The chain the edit changes.
    public var chain: String {
        switch self {
        case .createChain(let chain), .flushChain(let chain), .deleteChain(let chain): chain
        case .insert(let chain, _, _), .append(let chain, _), .delete(let chain, _): chain
        }
    }
}
