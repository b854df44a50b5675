import Benchmark
import SecurityGroupsCore

/// Rendering a host's whole desired ruleset, both layouts.
func renderBenchmarks() {
    for count in hostSizes {
        let host = syntheticHost(vms: count)
        for layout in Layout.allCases {
            Benchmark("render \(layout.rawValue) \(count) dual-stack VMs") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(Renderer.render(host, layout: layout))
                }
            }
        }
    }
    let host = syntheticHost(vms: 5_000)
    // Rendering alone: the result is freed outside the measured span.
    for layout in Layout.allCases {
        Benchmark("render only (no free) \(layout.rawValue) 5000 dual-stack VMs",
                  configuration: .init(metrics: [.wallClock], maxIterations: 20)) { benchmark in
            var kept: [Ruleset] = []
            kept.reserveCapacity(benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                kept.append(Renderer.render(host, layout: layout))
            }
            benchmark.stopMeasurement()
            blackHole(kept)
        }
    }
    Benchmark("render + text notrack 5000 dual-stack VMs") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RulesetText(Renderer.render(host, layout: .notrack)))
        }
    }
}
