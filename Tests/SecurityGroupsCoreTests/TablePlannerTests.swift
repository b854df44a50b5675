import Testing
@testable import SecurityGroupsCore

/// The planner alone, on made-up kernel states: minimal edits, only our
/// objects touched, indexes valid in the order the edits are made.
@Suite struct TablePlannerTests {
    private func rule(_ source: String, _ target: Target = .accept) -> IPTablesRule {
        IPTablesRule(source: IPNetwork(source), target: target)
    }

    /// Applies edits to a kernel state the way libiptc would.
    private func simulate(_ edits: [TableEdit], on state: KernelTableState) -> KernelTableState {
        var chains = state.chains
        for edit in edits {
            switch edit {
            case .createChain(let chain): chains[chain] = []
            case .flushChain(let chain): chains[chain] = []
            case .deleteChain(let chain): chains[chain] = nil
            case .delete(let chain, let index): chains[chain]!.remove(at: index)
            case .insert(let chain, let index, let rule): chains[chain]!.insert(.known(rule), at: index)
            case .append(let chain, let rule): chains[chain]!.append(.known(rule))
            }
        }
        return KernelTableState(name: state.name, chains: chains)
    }

    private func kernel(_ chains: [String: [KernelRule]]) -> KernelTableState {
        var all = chains
        for builtin in IPTable.Name.filter.builtinChains where all[builtin] == nil { all[builtin] = [] }
        return KernelTableState(name: .filter, chains: all)
    }

    @Test func nothingToDoWhenEqual() {
        var desired = IPTable(.filter)
        desired.chains["i-2-7-VM"] = [rule("10.0.0.1"), rule("10.0.0.2")]
        let state = kernel(["i-2-7-VM": [.known(rule("10.0.0.1")), .known(rule("10.0.0.2"))]])
        #expect(TablePlanner.plan(desired: desired, kernel: state).isEmpty)
    }

    @Test func replacesOnlyTheMiddle() {
        var desired = IPTable(.filter)
        desired.chains["i-2-7-VM"] = ["1", "2", "X", "Y", "5"].map { rule("10.0.0.\($0 == "X" ? "8" : $0 == "Y" ? "9" : $0)") }
        let state = kernel(["i-2-7-VM": ["1", "2", "3", "5"].map { .known(rule("10.0.0.\($0)")) }])
        let edits = TablePlanner.plan(desired: desired, kernel: state)
        #expect(edits == [
            .delete(chain: "i-2-7-VM", index: 2),
            .insert(chain: "i-2-7-VM", index: 2, rule: rule("10.0.0.8")),
            .insert(chain: "i-2-7-VM", index: 3, rule: rule("10.0.0.9")),
        ])
        #expect(simulate(edits, on: state).chains["i-2-7-VM"] == desired.chains["i-2-7-VM"]!.map(KernelRule.known))
    }

    @Test func createsBeforeJumpingAndDeletesAfter() {
        var desired = IPTable(.filter)
        desired.chains["BF-cloudbr0-IN"] = [IPTablesRule(target: .jump("i-2-8-def"))]
        desired.chains["i-2-8-def"] = [rule("10.0.0.8")]
        let state = kernel([
            "BF-cloudbr0-IN": [.known(IPTablesRule(target: .jump("i-2-7-def")))],
            "i-2-7-def": [.known(rule("10.0.0.7"))],
            "DOCKER": [.opaque],
        ])
        let edits = TablePlanner.plan(desired: desired, kernel: state)
        #expect(edits.first == .createChain("i-2-8-def"))
        #expect(Array(edits.suffix(2)) == [.flushChain("i-2-7-def"), .deleteChain("i-2-7-def")])
        let after = simulate(edits, on: state)
        #expect(after.chains["DOCKER"] == [.opaque])
        #expect(after.chains["i-2-7-def"] == nil)
        #expect(after.chains["BF-cloudbr0-IN"] == [.known(IPTablesRule(target: .jump("i-2-8-def")))])
    }

    /// Ours go where ours were; foreign rules stay where they are, in order.
    @Test func builtinChainsKeepForeignRules() {
        let bridge = Bridge(name: try! InterfaceName("cloudbr0", field: "bridge"), uplink: nil)
        let ours = BridgeRules.forwardRules(bridge)
        let docker = IPTablesRule(target: .jump("DOCKER-USER"))
        let other = IPTablesRule(inInterface: "eth9", target: .accept)
        var desired = IPTable(.filter)
        desired.builtinRules["FORWARD"] = ours
        desired.chains["BF-cloudbr0"] = []
        // Kernel: a foreign rule on top, ours with one missing, a foreign rule in between.
        let state = kernel([
            "FORWARD": [.known(docker), .known(ours[0]), .known(other), .known(ours[2]), .known(ours[3])],
            "BF-cloudbr0": [],
        ])
        let after = simulate(TablePlanner.plan(desired: desired, kernel: state), on: state)
        let forward = after.chains["FORWARD"]!
        #expect(forward.first == .known(docker))
        #expect(forward.filter { $0 == .known(docker) || $0 == .known(other) } == [.known(docker), .known(other)])
        #expect(forward.filter { if case .known(let r) = $0 { ours.contains(r) } else { false } } == ours.map(KernelRule.known))
    }

    @Test func emptyBuiltinGetsOursOnTopOfForeign() {
        var desired = IPTable(.filter)
        let bridge = Bridge(name: try! InterfaceName("cloudbr0", field: "bridge"), uplink: nil)
        desired.builtinRules["FORWARD"] = BridgeRules.forwardRules(bridge)
        desired.chains["BF-cloudbr0"] = []
        let foreign = IPTablesRule(inInterface: "eth9", target: .accept)
        let state = kernel(["FORWARD": [.known(foreign)]])
        let after = simulate(TablePlanner.plan(desired: desired, kernel: state), on: state)
        #expect(after.chains["FORWARD"] == BridgeRules.forwardRules(bridge).map(KernelRule.known) + [.known(foreign)])
    }

    @Test func leavesForeignChainsAndOpaqueRulesOutsideOurs() {
        let desired = IPTable(.filter)
        let state = kernel(["FORWARD": [.opaque, .known(IPTablesRule(outInterface: "virbr0", target: .drop))], "LIBVIRT_FWO": [.opaque]])
        #expect(TablePlanner.plan(desired: desired, kernel: state).isEmpty)
    }

    @Test func ownership() {
        for name in ["BF-cloudbr0", "BF-cloudbr0-IN", "i-2-7-VM", "i-2-7-def", "i-2-7-VM-eg", "r-5-VM", "s-1-VM", "v-3-VM"] {
            #expect(Ownership.ownsChain(name), "\(name)")
        }
        for name in ["FORWARD", "DOCKER", "i-x", "input", "LIBVIRT_INP", "r-", "vnet0"] {
            #expect(!Ownership.ownsChain(name), "\(name)")
        }
        #expect(Ownership.ownsSet("cs_notrack6") && Ownership.ownsSet("i-2-7-VM-6"))
        #expect(!Ownership.ownsSet("docker-ips"))
    }
}
