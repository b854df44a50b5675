import Foundation
public import SecurityGroupsCore

/// The desired state of every VM we program: one file per VM in `state_dir`
/// (`<vm>.json`, a host file holding that VM and its bridges), and
/// `bridges.json` with every bridge in the order it was first set up.
/// Written atomically; a file that cannot be read is reported and skipped,
/// never fatal to the others.
public struct StateStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The host as recorded (VMs in the order their files sort), and a line
    /// for each file that could not be read.
    public func load() -> (host: HostState, problems: [String]) {
        var problems: [String] = []
        var bridges: [Bridge] = []
        var vms: [VirtualMachine] = []
        if let recorded = decode(path("bridges"), problems: &problems) { bridges = recorded.bridges }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where name.hasSuffix(".json") && name != "bridges.json" && !name.hasPrefix(".") {
            guard let recorded = decode("\(directory)/\(name)", problems: &problems) else { continue }
            for bridge in recorded.bridges where !bridges.contains(where: { $0.name == bridge.name }) {
                bridges.append(bridge)
            }
            vms += recorded.vms
        }
        return (HostState(bridges: bridges, vms: vms), problems)
    }

    /// The bridges and one VM's record (if any): all a VM-scoped command needs,
    /// whatever the number of VMs on the host.
    public func load(_ name: VMName) -> (host: HostState, problems: [String]) {
        var problems: [String] = []
        var host = HostState(bridges: decode(path("bridges"), problems: &problems)?.bridges ?? [], vms: [])
        if let recorded = decode(path(name.rawValue), problems: &problems) {
            for bridge in recorded.bridges where !host.bridges.contains(where: { $0.name == bridge.name }) {
                host.bridges.append(bridge)
            }
            host.vms = recorded.vms.filter { $0.name == name }
        }
        return (host, problems)
    }

    /// Records one VM, and the host's bridges.
    public func save(_ vm: VirtualMachine, hostBridges: [Bridge]) throws(AgentError) {
        let own = hostBridges.filter { bridge in vm.nics.contains { $0.bridge == bridge.name } }
        do {
            try Files.makeDirectory(directory)
            try Files.writeAtomically(text(HostState(bridges: own, vms: [vm])), to: path(vm.name.rawValue))
            try Files.writeAtomically(text(HostState(bridges: hostBridges, vms: [])), to: path("bridges"))
        } catch {
            throw AgentError(error.description)
        }
    }

    public func remove(_ vm: VMName) throws(AgentError) {
        do { try Files.remove(path(vm.rawValue)) } catch { throw AgentError(error.description) }
    }

    private func path(_ name: String) -> String { "\(directory)/\(name).json" }

    /// One state file, or nil when it does not exist or cannot be read (then noted in `problems`).
    private func decode(_ file: String, problems: inout [String]) -> HostState? {
        do {
            guard let text = try Files.read(file) else { return nil }
            return try HostFile.decode(Data(text.utf8))
        } catch {
            problems.append("\(file): \(error)")
            return nil
        }
    }

    private func text(_ host: HostState) -> String {
        String(decoding: HostFile.encode(host), as: UTF8.self) + "\n"
    }
}
