import ArgumentParser
import SecurityGroupsKernel
import SecurityGroupsAgent

/// `security-groups show`: what of ours the kernel holds.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the CloudStack chains, rules and sets the kernel holds, in each tool's save format."
    )

    func run() throws {
        do {
            let configuration = try AgentCommandLine.configuration()
            let host = SystemHost(libvirtURI: configuration.libvirtURI, netfilter: configuration.netfilter)
            print(try host.snapshot().ownedText.sections(header: "in the kernel"), terminator: "")
            let native = try NativeTables.listing()
            if !native.isEmpty { print("# nft list table (the native layout)\n" + native, terminator: "") }
        } catch {
            throw CLIError("\(error)")
        }
    }
}
