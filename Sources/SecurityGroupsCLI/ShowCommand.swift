import ArgumentParser
import SecurityGroupsKernel

/// `security-groups show`: what of ours the kernel holds.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the CloudStack chains, rules and sets the kernel holds, in each tool's save format."
    )

    func run() throws {
        do {
            print(try KernelSnapshot.read().ownedText.sections(header: "in the kernel"), terminator: "")
        } catch {
            throw CLIError(error.description)
        }
    }
}
