import ArgumentParser
import Foundation
import SecurityGroupsCore

/// `--host FILE` and `--layout`, shared by the commands that render a host.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: "The host description (JSON; see README).")
    var host: String

    @Option(name: .long, help: "Rule layout: notrack (default), classic, or native (nf_tables tables of our own).")
    var layout: Layout = .notrack

    /// The host file, read and validated.
    func load() throws -> HostState {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: host))
        } catch {
            throw CLIError("cannot read host file \(host): \(error.localizedDescription)")
        }
        do {
            return try HostFile.decode(data)
        } catch {
            throw CLIError(error.description)
        }
    }
}
