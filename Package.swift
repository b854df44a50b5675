// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "security-groups",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "security-groups", targets: ["security-groups"]),
        .library(name: "SecurityGroupsCore", targets: ["SecurityGroupsCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        // C shims: one target per C library, found through pkg-config.
        .target(
            name: "CIPTables",
            path: "CShims/CIPTables",
            linkerSettings: [.linkedLibrary("ip4tc"), .linkedLibrary("ip6tc"), .linkedLibrary("xtables")]
        ),
        .target(
            name: "CIPSet",
            path: "CShims/CIPSet",
            linkerSettings: [.linkedLibrary("ipset")]
        ),
        .target(
            name: "CLibvirt",
            path: "CShims/CLibvirt",
            linkerSettings: [.linkedLibrary("virt")]
        ),

        // Pure: CloudStack inputs, host model, renderer, text forms. No I/O.
        .target(name: "SecurityGroupsCore"),
        // The only place that talks to the kernel and libvirt.
        .target(
            name: "SecurityGroupsKernel",
            dependencies: [
                "SecurityGroupsCore", "CIPTables", "CIPSet", "CLibvirt",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SecurityGroupsCLI",
            dependencies: [
                "SecurityGroupsCore", "SecurityGroupsKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "security-groups", dependencies: ["SecurityGroupsCLI"]),

        .testTarget(
            name: "SecurityGroupsCoreTests",
            dependencies: ["SecurityGroupsCore"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SecurityGroupsKernelTests",
            dependencies: ["SecurityGroupsCore", "SecurityGroupsKernel"]
        ),
        .testTarget(
            name: "SecurityGroupsCLITests",
            dependencies: ["SecurityGroupsCLI", "SecurityGroupsKernel"]
        ),
    ]
)

let cTargets: Set<String> = ["CIPTables", "CIPSet", "CLibvirt"]
for target in package.targets where !cTargets.contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
