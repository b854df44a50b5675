import ArgumentParser
import Foundation
import SecurityGroupsCore
import SecurityGroupsSandbox
import SecurityGroupsKernel

/// `security-groups demo`: a sandbox host in network namespaces with three
/// VMs, programmed through the agent commands and probed with real packets.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a sandbox host in network namespaces, program three VMs, probe them, remove it all.",
        discussion: """
            Needs root. Everything lives in namespaces named \(Demo.prefix)-*, removed at the end, \
            on failure and on Ctrl-C; the root namespace's iptables, ipset and ebtables are not touched.
            """
    )

    @Option(help: "classic, notrack, native, both (classic and notrack) or all (one after the other).")
    var layout: String = "all"

    @Option(help: "Where the iptables tables go: auto (as on a real host: where the host's iptables writes), legacy or nftables.")
    var netfilter: String = "auto"

    @Option(help: "Instead of the probes: this many distinct UDP flows at an open and at a tracked VM (up to 100000).")
    var flood: Int?

    func run() throws {
        let layouts: [Layout]
        switch layout {
        case "both": layouts = Layout.iptablesLayouts
        case "all": layouts = Layout.allCases
        default:
            guard let one = Layout(rawValue: layout) else { throw CLIError("invalid layout '\(layout)': classic, notrack, native, both or all") }
            layouts = [one]
        }
        guard let netfilter = NetfilterSetting(rawValue: netfilter) else {
            throw CLIError("invalid netfilter '\(self.netfilter)': auto, legacy or nftables")
        }
        Self.removeSandboxOnSignals()
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        if let flood {
            guard (1...100_000).contains(flood) else { throw CLIError("invalid flood '\(flood)': 1 to 100000 flows") }
            var rows: [FloodBenchmark.Row] = []
            for layout in layouts where layout != .native {
                do {
                    rows += try FloodBenchmark(flows: flood, binary: binary).run(layout)
                } catch {
                    throw CLIError("flood (\(layout.rawValue)): \(error)")
                }
            }
            print(FloodBenchmark.table(rows), terminator: "")
            return
        }
        var failures = 0
        for layout in layouts {
            let rows: [Demo.Row]
            var demo = Demo(layout: layout, netfilter: netfilter, binary: binary)
            do {
                rows = try demo.run()
            } catch {
                throw CLIError("demo (\(layout.rawValue)): \(error)")
            }
            print("== layout \(layout.rawValue), rules in \(demo.programmedNetfilter) (netfilter = \(netfilter.rawValue))")
            print(Demo.table(rows))
            failures += rows.filter { $0.expected != $0.got }.count
        }
        print(failures == 0 ? "every probe as expected; the sandbox is removed" : "\(failures) probes not as expected")
        if failures > 0 { throw ExitCode(1) }
    }

    /// On SIGINT or SIGTERM: remove the sandbox's namespaces, then exit.
    private static func removeSandboxOnSignals() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                SandboxHost.removeNamespaces(prefix: Demo.prefix)
                SandboxHost.removeNamespaces(prefix: FloodBenchmark.prefix)
                Foundation.exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }

    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}
