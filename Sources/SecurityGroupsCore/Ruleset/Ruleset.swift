/// The complete desired netfilter state of a host for one layout: what the
/// renderer produces and the backends apply.
public struct Ruleset: Equatable, Sendable {
    public var ipv4: IPTablesFamily
    public var ipv6: IPTablesFamily
    /// Sets in creation order.
    public var ipsets: [IPSet]
    /// The ebtables `nat` table: our chains and our PREROUTING/POSTROUTING jumps.
    public var ebtables: EbtablesTable
    /// What it was rendered for, and so what applying it may change: a
    /// ruleset rendered for some VMs says nothing of the others.
    public let scope: Scope
    /// The layout it was rendered in: `native` goes to our own nf_tables
    /// tables (`NativeRuleset`), the others to the iptables tables.
    public let layout: Layout

    public init(ipv4: IPTablesFamily, ipv6: IPTablesFamily, ipsets: [IPSet], ebtables: EbtablesTable, scope: Scope, layout: Layout = .notrack) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.ipsets = ipsets
        self.ebtables = ebtables
        self.scope = scope
        self.layout = layout
    }

    public func iptables(_ family: AddressFamily) -> IPTablesFamily { family == .ipv4 ? ipv4 : ipv6 }
}

/// The iptables (or ip6tables) tables of one address family.
public struct IPTablesFamily: Equatable, Sendable {
    public var filter: IPTable
    public var nat: IPTable
    public var raw: IPTable

    public init() {
        filter = IPTable(.filter)
        nat = IPTable(.nat)
        raw = IPTable(.raw)
    }

    /// filter, nat, raw: the order iptables-save prints them in.
    public var tables: [IPTable] { [filter, nat, raw] }
}

/// One table: the rules we own in built-in chains, and our own chains.
public struct IPTable: Equatable, Sendable {
    public enum Name: String, Sendable, CaseIterable {
        case filter, nat, raw

        /// Built-in chains in the kernel's hook order, as iptables-save lists them.
        /// Whether `chain` is one of this table's built-in chains.
        public func isBuiltin(_ chain: String) -> Bool {
            switch chain {
            case "PREROUTING", "OUTPUT": self != .filter
            case "INPUT": self != .raw
            case "FORWARD": self == .filter
            case "POSTROUTING": self == .nat
            default: false
            }
        }

        public var builtinChains: [String] {
            switch self {
            case .filter: ["INPUT", "FORWARD", "OUTPUT"]
            case .nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]
            case .raw: ["PREROUTING", "OUTPUT"]
            }
        }
    }

    public let name: Name
    /// Our rules in built-in chains, to sit at the top of each, in this order.
    public var builtinRules: [String: [IPTablesRule]] = [:]
    /// Our user chains and their full contents.
    public var chains: [String: [IPTablesRule]] = [:]

    public init(_ name: Name) { self.name = name }

    public var isEmpty: Bool { chains.isEmpty && builtinRules.values.allSatisfy(\.isEmpty) }

    /// Appends to a built-in or user chain, creating the user chain if needed.
    mutating func append(_ rule: IPTablesRule, to chain: String) {
        if name.isBuiltin(chain) {
            builtinRules[chain, default: []].append(rule)
        } else {
            chains[chain, default: []].append(rule)
        }
    }

    mutating func append(contentsOf rules: [IPTablesRule], to chain: String) {
        for rule in rules { append(rule, to: chain) }
    }

    /// Creates an empty user chain if it does not exist yet.
    mutating func ensureChain(_ chain: String) {
        if chains[chain] == nil { chains[chain] = [] }
    }
}

/// An ipset and its members.
public struct IPSet: Equatable, Sendable {
    public enum SetType: String, Sendable {
        case hashIP = "hash:ip"
        case hashNet = "hash:net"
        /// Addresses on bridge ports: `ADDRESS,physdev:PORT`.
        case hashNetIface = "hash:net,iface"
    }

    /// An address, a network (`hash:net`), or (`hash:net,iface`) an
    /// address on a bridge port.
    public struct Member: Hashable, Sendable, CustomStringConvertible {
        public var address: IPAddress
        /// Shorter than the address: a network.
        public var prefixLength: Int?
        public var port: String?

        public init(_ address: IPAddress, port: String? = nil) {
            self.address = address
            self.port = port
        }

        public init(_ network: IPNetwork) {
            address = network.address
            let hostLength: Int
            if case .v4 = network.address { hostLength = 32 } else { hostLength = 128 }
            prefixLength = network.prefixLength == hostLength ? nil : network.prefixLength
        }

        /// As `ipset save` prints it.
        public var description: String {
            let value = address.description + (prefixLength.map { "/\($0)" } ?? "")
            return port.map { "\(value),physdev:\($0)" } ?? value
        }
    }

    public var name: String
    public var type: SetType
    public var family: AddressFamily
    /// Members in insertion order.
    public var members: [Member]

    public init(name: String, type: SetType, family: AddressFamily, members: [Member]) {
        self.name = name
        self.type = type
        self.family = family
        self.members = members
    }

    public init(name: String, type: SetType, family: AddressFamily, addresses: [IPAddress] = []) {
        self.init(name: name, type: type, family: family, members: addresses.map { Member($0) })
    }
}
