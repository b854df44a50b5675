import Testing
import SecurityGroupsCore

/// The port dispatch tree: every port reaches its own chain and no other,
/// in a few rules, and a port's arrival or departure rewrites only its path.
@Suite struct InterfaceDispatchTests {
    private typealias Dispatch = InterfaceDispatch

    private func tree(_ names: [String]) -> Dispatch {
        Dispatch(.into, entries: names.map { Dispatch.Entry(interface: $0, target: "vm-\($0)") })
    }

    /// Walks the tree as the kernel does: first rule whose pattern matches
    /// (`+` = starts with), into its chain, on through the rest on return.
    /// The targets a packet of `port` reaches, and how many rules it read.
    private func walk(_ tree: Dispatch, port: String) -> (targets: [String], rules: Int) {
        let chains = Dictionary(uniqueKeysWithValues: tree.chains.map { ($0.name, $0.branches) })
        var targets: [String] = []
        var rules = 0
        func enter(_ chain: String) {
            for branch in chains[chain] ?? [] {
                rules += 1
                let matches = branch.pattern.hasSuffix("+") ? port.hasPrefix(branch.pattern.dropLast()) : port == branch.pattern
                guard matches else { continue }
                if chains[branch.target] != nil { enter(branch.target) } else { targets.append(branch.target) }
            }
        }
        enter(Dispatch.Direction.into.root)
        return (targets, rules)
    }

    @Test func namesThatArePrefixesOfEachOther() {
        let dispatch = tree(["vnet123", "vnet1", "vnet12"])
        #expect(dispatch.chains.map(\.name) == ["sg-in", "sg-in-vnet1", "sg-in-vnet12"])
        #expect(dispatch.chains.map { $0.branches.map { "\($0.pattern)>\($0.target)" } } == [
            ["vnet1+>sg-in-vnet1"],
            ["vnet1>vm-vnet1", "vnet12+>sg-in-vnet12"],
            ["vnet12>vm-vnet12", "vnet123>vm-vnet123"],
        ])
        for name in ["vnet1", "vnet12", "vnet123"] {
            #expect(walk(dispatch, port: name).targets == ["vm-\(name)"])
        }
        for stranger in ["vnet", "vnet13", "vnet1234", "vnet2", "eth0", "vnet12x"] {
            #expect(walk(dispatch, port: stranger).targets.isEmpty, "\(stranger)")
        }
    }

    @Test func fiveThousandPortsCostAFewRulesEach() {
        let names = (0..<5000).map { "vnet\($0)" } + ["tap0", "eth1"]
        let dispatch = tree(names.shuffled())
        var worst = 0
        for name in names {
            let (targets, rules) = walk(dispatch, port: name)
            #expect(targets == ["vm-\(name)"])
            worst = max(worst, rules)
        }
        // root (3) + sg-in-vnet (10) + three levels of 11: the bound in the type's comment.
        #expect(worst <= 3 + 10 + 11 + 11 + 11)
        #expect(walk(dispatch, port: "uplink0").rules == 3, "a port of no VM reads the root only")
    }

    @Test func aPortsChangeRewritesOnlyItsPath() {
        var names = Set((0..<300).map { "vnet\($0)" } + ["veth7", "tap12", "tap1"])
        for _ in 0..<200 {
            let name = Bool.random() ? names.randomElement()! : "vnet\(Int.random(in: 0..<400))"
            let before = tree(Array(names))
            if names.contains(name) { names.remove(name) } else { names.insert(name) }
            let after = tree(Array(names))
            let old = Dictionary(uniqueKeysWithValues: before.chains.map { ($0.name, $0.branches) })
            let new = Dictionary(uniqueKeysWithValues: after.chains.map { ($0.name, $0.branches) })
            let changed = Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }
            #expect(changed.isSubset(of: Dispatch.pathChains(of: name, .into)), "\(name): \(changed.sorted())")
        }
    }

    @Test func aNameListedTwiceKeepsBothEntriesInOrder() {
        let dispatch = Dispatch(.out, entries: [.init(interface: "vnet2", target: "b"), .init(interface: "vnet1", target: "a"),
                                                .init(interface: "vnet2", target: "c")])
        #expect(dispatch.chains.map(\.name) == ["sg-out", "sg-out-vnet"])
        #expect(dispatch.chains[1].branches.map(\.target) == ["a", "b", "c"])
    }

    @Test func chainNamesFitEveryTable() {
        let longest = String(repeating: "x", count: 14)
        let dispatch = tree([longest + "a", longest + "b"])
        #expect(dispatch.chains.allSatisfy { $0.name.count <= NetfilterNames.longestEbtablesChain })
        #expect(Dispatch.Direction.out.chain(longest).count == 21)
    }
}
