import Benchmark
import SecurityGroupsCore

/// Planning the edits for one VM's rules change against a kernel that holds
/// the whole host: in the VM's scope (what the agent commands do) and for
/// the whole host (what apply and resync do).
func planBenchmarks() {
    for count in hostSizes {
        let host = syntheticHost(vms: count)
        var changedHost = host
        let index = count / 2
        changedHost.vms[index].rules = try! RuleParser.parse("I:tcp;22;22;192.0.2.0/24,NEXT;I:tcp;8080;8080;0.0.0.0/0,::/0,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;")
        let kernel = kernelState(Renderer.render(host, layout: .classic).ipv4.filter)
        let changed = changedHost.vms[index]
        let scope = Scope.vm(changed.name, vifs: Set(changed.nics.map(\.vif.rawValue)))
        let desiredForVM = Renderer.render(changedHost, layout: .classic, scope: scope).ipv4.filter
        let desiredForHost = Renderer.render(changedHost, layout: .classic).ipv4.filter
        Benchmark("plan one VM's change, VM scope, \(count) VMs") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(TablePlanner.plan(desired: desiredForVM, kernel: kernel, scope: scope))
            }
        }
        Benchmark("plan one VM's change, host scope, \(count) VMs") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(TablePlanner.plan(desired: desiredForHost, kernel: kernel, scope: .host))
            }
        }
    }
}

/// What reading `table` back from the kernel gives: every rule known.
func kernelState(_ table: IPTable) -> KernelTableState {
    var chains: [String: [KernelRule]] = [:]
    for chain in table.name.builtinChains { chains[chain] = (table.builtinRules[chain] ?? []).map(KernelRule.known) }
    for (chain, rules) in table.chains { chains[chain] = rules.map(KernelRule.known) }
    return KernelTableState(name: table.name, chains: chains)
}
