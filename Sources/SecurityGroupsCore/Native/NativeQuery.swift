/// Questions to our native tables, each answered by name or by key (never
/// by listing a table): which addresses a set holds, what a map gives for
/// a key, how many rules a chain has. `verify_network_rules` and `status` ask them.
public struct NativeQuery: Equatable, Sendable {
    public struct Member: Hashable, Sendable {
        public let table: NativeTable.Family
        public let set: String
        public let address: IPAddress

        public init(_ table: NativeTable.Family, set: String, address: IPAddress) {
            self.table = table
            self.set = set
            self.address = address
        }
    }

    public struct MapKey: Hashable, Sendable {
        public let table: NativeTable.Family
        public let map: String
        /// A port's name (`.interface`) or id (`.number`).
        public let key: NativeValue

        public init(_ table: NativeTable.Family, map: String, key: NativeValue) {
            self.table = table
            self.map = map
            self.key = key
        }
    }

    public struct Chain: Hashable, Sendable {
        public let table: NativeTable.Family
        public let name: String

        public init(_ table: NativeTable.Family, _ name: String) {
            self.table = table
            self.name = name
        }
    }

    public var members: [Member] = []
    public var mapKeys: [MapKey] = []
    public var chains: [Chain] = []

    public init(members: [Member] = [], mapKeys: [MapKey] = [], chains: [Chain] = []) {
        self.members = members
        self.mapKeys = mapKeys
        self.chains = chains
    }
}

/// The kernel's answers, in the order of the questions.
public struct NativeAnswer: Equatable, Sendable {
    /// Whether each address is in its set.
    public var members: [Bool] = []
    /// What each map gives (`.number` for an id, `.jump` for a verdict); nil when it has no such key.
    public var mapValues: [NativeValue?] = []
    /// How many rules each chain has; nil when there is no such chain.
    public var chains: [Int?] = []

    public init(members: [Bool] = [], mapValues: [NativeValue?] = [], chains: [Int?] = []) {
        self.members = members
        self.mapValues = mapValues
        self.chains = chains
    }
}

extension NativeRuleset {
    /// The answers these tables give (for a host kept in memory).
    public func answer(_ query: NativeQuery) -> NativeAnswer {
        func table(_ family: NativeTable.Family) -> NativeTable? { tables.first { $0.family == family } }
        func set(_ family: NativeTable.Family, _ name: String) -> NativeSet? { table(family)?.sets.first { $0.name == name } }
        return NativeAnswer(
            members: query.members.map { member in
                set(member.table, member.set)?.elements.contains {
                    if case .network(let network)? = $0.key.first { network.address == member.address } else { false }
                } ?? false
            },
            mapValues: query.mapKeys.map { key in set(key.table, key.map)?.elements.first { $0.key == [key.key] }?.data },
            chains: query.chains.map { chain in table(chain.table)?.chains.first { $0.name == chain.name }?.rules.count })
    }
}
