import Benchmark
import SecurityGroupsCore
import SecurityGroupsKernel

/// Encoding every rule of a host's IPv4 and IPv6 filter tables into the
/// kernel entries libiptc commits (set names resolved from a table, as the
/// kernel's indexes would be).
func encodeBenchmarks() {
    for count in hostSizes {
        let ruleset = Renderer.render(syntheticHost(vms: count), layout: .notrack)
        let indexes = Dictionary(uniqueKeysWithValues: ruleset.ipsets.enumerated().map { ($1.name, UInt16($0)) })
        let tables = AddressFamily.allCases.map { family -> (AddressFamily, [IPTablesRule]) in
            let filter = ruleset.iptables(family).filter
            return (family, filter.builtinRules.values.flatMap { $0 } + filter.chains.values.flatMap { $0 })
        }
        Benchmark("encode filter entries, both families, \(count) VMs") { benchmark in
            for _ in benchmark.scaledIterations {
                var encoder = EntryEncoder(setIndexes: indexes)
                for (family, rules) in tables {
                    for rule in rules { blackHole(try encoder.encode(rule, family: family)) }
                }
            }
        }
    }
}
