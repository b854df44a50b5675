// swift-tools-version: 6.1
import PackageDescription

// Microbenchmarks (ordo-one/package-benchmark), kept out of the main package so
// the test build does not compile the benchmark framework.
// Run: cd benchmarks && swift package --disable-sandbox benchmark
let package = Package(
    name: "security-groups-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "SecurityGroups",
            dependencies: [
                .product(name: "SecurityGroupsCore", package: "main"),
                .product(name: "SecurityGroupsKernel", package: "main"),
                .product(name: "SecurityGroupsAgent", package: "main"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/SecurityGroups",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
