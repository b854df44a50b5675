// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "security-groups",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "security-groups", targets: ["security-groups"]),
        .library(name: "SecurityGroupsCore", targets: ["SecurityGroupsCore"]),
        // For benchmarks/: the kernel backend's encoder and the agent's argv parsing.
        .library(name: "SecurityGroupsKernel", targets: ["SecurityGroupsKernel"]),
        .library(name: "SecurityGroupsAgent", targets: ["SecurityGroupsAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        // The system libraries, found through pkg-config (Debian's -dev packages).
        .systemLibrary(
            name: "CLibIPTC", path: "CShims/SystemLibraries/libiptc", pkgConfig: "libiptc xtables",
            providers: [.apt(["libiptc-dev", "libxtables-dev"])]
        ),
        .systemLibrary(
            name: "CLibIPSet", path: "CShims/SystemLibraries/libipset", pkgConfig: "libipset",
            providers: [.apt(["libipset-dev"])]
        ),
        // Thin C shims: one target per C library, each including only its
        // own library's headers (libipset's clash with linux/netfilter.h).
        .target(name: "CIPTables", dependencies: ["CLibIPTC"], path: "CShims/CIPTables"),
        .target(name: "CIPSet", dependencies: ["CLibIPSet"], path: "CShims/CIPSet"),
        // libvirt's headers only (libvirt-dev): the shim loads the library when first used.
        .target(name: "CLibvirt", path: "CShims/CLibvirt"),
        // libnftables' header only (libnftables-dev): the shim loads the library when first used.
        .target(name: "CNFTables", path: "CShims/CNFTables"),
        // glibc's GNU extensions (setns, syncfs, malloc_trim), which Swift's Glibc module leaves out.
        .target(name: "CGlibcExtensions", path: "CShims/CGlibcExtensions"),

        // Pure: CloudStack inputs, host model, renderer, text forms. No I/O.
        .target(name: "SecurityGroupsCore"),
        // The only place that talks to the kernel and libvirt.
        .target(name: "SecurityGroupsKernel", dependencies: ["SecurityGroupsCore", "CIPTables", "CIPSet", "CLibvirt", "CNFTables", "CGlibcExtensions"]),
        // The agent commands' semantics: state store, rule logs, lock, config.
        .target(
            name: "SecurityGroupsAgent",
            dependencies: ["SecurityGroupsCore", "SecurityGroupsKernel", "CGlibcExtensions", .product(name: "Logging", package: "swift-log")]
        ),
        // A KVM host made of network namespaces, probed with real packets:
        // the demo and the data-plane tests.
        .target(name: "SecurityGroupsSandbox", dependencies: ["SecurityGroupsCore", "SecurityGroupsKernel", "CGlibcExtensions"]),
        .target(
            name: "SecurityGroupsCLI",
            dependencies: [
                "SecurityGroupsCore", "SecurityGroupsKernel", "SecurityGroupsAgent", "SecurityGroupsSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "security-groups", dependencies: ["SecurityGroupsCLI"]),

        .testTarget(
            name: "SecurityGroupsCoreTests",
            dependencies: ["SecurityGroupsCore", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        // Network namespaces and tool runs for the tests that touch the kernel.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "SecurityGroupsKernelTests",
            dependencies: ["SecurityGroupsCore", "SecurityGroupsKernel", "SecurityGroupsSandbox", "TestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SecurityGroupsAgentTests",
            dependencies: ["SecurityGroupsAgent", "SecurityGroupsCore", "SecurityGroupsKernel", .product(name: "Logging", package: "swift-log")]
        ),
        // Real packets through a sandbox host of namespaces, both layouts.
        .testTarget(
            name: "SecurityGroupsDataPlaneTests",
            dependencies: ["security-groups", "SecurityGroupsCore", "SecurityGroupsKernel", "SecurityGroupsSandbox", "TestSupport"]
        ),
        // Runs a command as on a kernel that lacks a part (seccomp), for the host-world tests.
        .executableTarget(name: "kernel-without", path: "Tests/KernelWithout"),
        .testTarget(
            name: "SecurityGroupsCLITests",
            dependencies: ["security-groups", "kernel-without", "SecurityGroupsCore", "TestSupport"],
            exclude: ["Fixtures"]
        ),
    ]
)

let cTargets: Set<String> = [
    "CLibIPTC", "CLibIPSet", "CIPTables", "CIPSet", "CLibvirt", "CGlibcExtensions", "kernel-without",
]
for target in package.targets where !cTargets.contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
