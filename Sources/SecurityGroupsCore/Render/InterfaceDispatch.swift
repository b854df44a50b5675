/// A prefix tree over interface names, so that a packet finds the chain of
/// its port in a few rules however many ports the host has (the `notrack`
/// layout; `classic` keeps the script's one jump per port).
///
/// iptables' physdev match and ebtables' `-i`/`-o` both read a trailing `+`
/// as "any name starting with". The tree is a radix tree: a chain per prefix
/// shared by two or more names, holding one rule per branch. A branch with a
/// single name is an exact match into that name's chain; a wider branch is a
/// `prefix+` jump into the chain of the branch's longest common prefix. So
/// `vnet0`…`vnet4999` cost at most 1 + 10 + 11 + 11 + 11 rules, and
/// `vnet1` never matches `vnet12`'s entry.
///
/// The tree is a function of the set of names alone, and adding or removing
/// a name changes only the chains whose prefixes are prefixes of that name
/// (`pathChains`): a VM's command rewrites O(depth) chains, never O(ports).
public struct InterfaceDispatch: Sendable {
    /// A port and the chain its packets go to; or a subtree kept as it is:
    /// the chain `target` of the ports starting with `interface`.
    public struct Entry: Hashable, Sendable {
        public let interface: String
        public let target: String
        public let isSubtree: Bool

        public init(interface: String, target: String, isSubtree: Bool = false) {
            self.interface = interface
            self.target = target
            self.isSubtree = isSubtree
        }
    }

    /// One rule of a dispatch chain: `pattern` is a whole interface name, or a
    /// prefix followed by `+`.
    public struct Branch: Hashable, Sendable {
        public let pattern: String
        public let target: String

        public init(pattern: String, target: String) {
            self.pattern = pattern
            self.target = target
        }
    }

    /// Which way a tree dispatches: on the port a packet came in by, or the one it leaves by.
    public enum Direction: String, Sendable, CaseIterable {
        case into = "in"
        case out

        /// The root chain: every packet of the direction enters it.
        public var root: String { "sg-\(rawValue)" }

        /// The chain of the names starting with `prefix` (the root for "").
        public func chain(_ prefix: some StringProtocol) -> String {
            prefix.isEmpty ? root : "\(root)-\(prefix)"
        }

        /// Whether `chain` is one of this direction's chains.
        public func owns(_ chain: String) -> Bool {
            chain == root || chain.hasPrefix(root + "-")
        }
    }

    public let direction: Direction
    /// Every chain of the tree, the root first, each with its branches in order.
    public private(set) var chains: [(name: String, branches: [Branch])] = []

    /// The tree of `entries`; a name listed twice keeps both entries, in order.
    public init(_ direction: Direction, entries: [Entry]) {
        self.direction = direction
        let sorted = entries.enumerated().sorted {
            ($0.element.interface, $0.offset) < ($1.element.interface, $1.offset)
        }.map(\.element)
        add(prefix: "", entries: sorted[...])
    }

    /// The tree's chains on some ports' paths, made from what the kernel
    /// holds on those paths (`kernel`: the path chains that exist) with the
    /// entries whose targets `replaced` says are the scope's replaced by
    /// `wanted`. Everything off the paths stays as the kernel has it: a
    /// subtree hanging off a path chain is kept as one entry. What comes out
    /// is what the whole tree would hold on those paths, as adding or
    /// removing a name changes only its path.
    public static func merging(_ direction: Direction, kernel: [String: [Branch]], wanted: [Entry],
                               replaced: (String) -> Bool) -> InterfaceDispatch {
        var entries: [Entry] = []
        var visited: Set<String> = []
        func collect(_ chain: String) {
            guard visited.insert(chain).inserted, let branches = kernel[chain] else { return }
            for branch in branches {
                if branch.pattern.hasSuffix("+") {
                    if kernel[branch.target] != nil {
                        collect(branch.target)
                    } else {
                        entries.append(Entry(interface: String(branch.pattern.dropLast()), target: branch.target, isSubtree: true))
                    }
                } else if !replaced(branch.target) {
                    entries.append(Entry(interface: branch.pattern, target: branch.target))
                }
            }
        }
        collect(direction.root)
        return InterfaceDispatch(direction, entries: entries + wanted)
    }

    /// Chains whose content may depend on whether `interface` exists: the
    /// chains of all its prefixes, the root included. These are the only
    /// chains adding or removing the name rewrites or deletes.
    public static func pathChains(of interface: String, _ direction: Direction) -> [String] {
        (0...interface.count).map { direction.chain(interface.prefix($0)) }
    }

    /// Whether some chain is one of any direction's.
    public static func isDispatchChain(_ chain: String) -> Bool {
        Direction.allCases.contains { $0.owns(chain) }
    }

    /// Adds the chain of `prefix`, whose names are `entries` (sorted), and its subtrees.
    private mutating func add(prefix: Substring, entries: ArraySlice<Entry>) {
        let index = chains.count
        chains.append((direction.chain(prefix), []))
        var branches: [Branch] = []
        var rest = entries
        // Names equal to the prefix itself come first in sorted order.
        while let first = rest.first, first.interface.count == prefix.count {
            // (A subtree of the prefix itself cannot come from a kernel tree; never jump to oneself.)
            if !first.isSubtree {
                branches.append(Branch(pattern: first.interface, target: first.target))
            } else if first.target != direction.chain(prefix) {
                branches.append(Branch(pattern: first.interface + "+", target: first.target))
            }
            rest = rest.dropFirst()
        }
        while let first = rest.first {
            let next = first.interface.dropFirst(prefix.count).first!
            let group = rest.prefix { $0.interface.dropFirst(prefix.count).first == next }
            rest = rest.dropFirst(group.count)
            let names = Set(group.map(\.interface))
            if group.count == 1, first.isSubtree {
                branches.append(Branch(pattern: first.interface + "+", target: first.target))
            } else if names.count == 1, !group.contains(where: \.isSubtree) {
                branches += group.map { Branch(pattern: $0.interface, target: $0.target) }
            } else {
                let common = Self.commonPrefix(group.first!.interface, group.last!.interface)
                branches.append(Branch(pattern: common + "+", target: direction.chain(common)))
                add(prefix: common, entries: group)
            }
        }
        chains[index].branches = branches
    }

    /// The longest common prefix of the first and last of sorted names: that of them all.
    private static func commonPrefix(_ first: String, _ last: String) -> Substring {
        first.prefix(zip(first, last).prefix { $0 == $1 }.count)
    }
}
