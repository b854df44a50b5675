import Benchmark

/// The host sizes every benchmark runs at.
let hostSizes = [1, 100, 1_000, 5_000]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal],
        maxDuration: .seconds(10),
        maxIterations: 50
    )
    parseBenchmarks()
    renderBenchmarks()
    planBenchmarks()
    encodeBenchmarks()
}
