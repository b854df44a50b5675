import ArgumentParser
import SecurityGroupsKernel

/// `security-groups version`: this build and the system libraries it runs on.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version and the netfilter and libvirt libraries in use."
    )

    func run() {
        print("security-groups \(SecurityGroupsVersion.current)")
        print(LibraryVersions().description)
    }
}

public enum SecurityGroupsVersion {
    public static let current = "0.1.0"
}
