import Foundation
public import SecurityGroupsCore

/// The desired state of every VM we program: one file per VM in `state_dir`
/// (`<vm>.json`, a host file holding that VM and its bridges, plus an
/// `agent` object: the layout it was programmed in and its rule logs), and
/// `bridges.json` with every bridge in the order it was first set up.
/// Written atomically; a file that cannot be read is reported and skipped,
/// never fatal to the others.
public struct StateStore: Sendable {
    public let directory: String

    /// What the agent recorded besides the VM itself.
    public struct Annotations: Codable, Equatable, Sendable {
        /// The layout the VM was last programmed in (`classic`, `notrack`).
        public var layout: String?
        /// The rule logs (`<run_dir>/<vm>.log` and `.ip`) as last written:
        /// after a reboot `run_dir` is empty, and resync writes them again.
        public var ruleLog: String?
        public var secondaryIPLog: String?

        public init(layout: String? = nil, ruleLog: String? = nil, secondaryIPLog: String? = nil) {
            self.layout = layout
            self.ruleLog = ruleLog
            self.secondaryIPLog = secondaryIPLog
        }
    }

    public init(directory: String) { self.directory = directory }

    /// Every recorded VM's annotations, by VM name.
    public func annotations() -> [VMName: Annotations] {
        var result: [VMName: Annotations] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in names where file.hasSuffix(".json") && file != "bridges.json" && !file.hasPrefix(".") {
            guard let name = try? VMName(String(file.dropLast(5))),
                  let text = try? Files.read("\(directory)/\(file)"),
                  let record = try? JSONDecoder().decode(AnnotatedRecord.self, from: Data(text.utf8)),
                  let annotations = record.agent else { continue }
            result[name] = annotations
        }
        return result
    }

    private struct AnnotatedRecord: Decodable { var agent: Annotations? }

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

    /// The bridges as recorded (`bridges.json`).
    public func bridges() -> [Bridge] {
        var problems: [String] = []
        return decode(path("bridges"), problems: &problems)?.bridges ?? []
    }

    /// Records one VM with its annotations, and the host's bridges (their
    /// file only when it changes: most commands add no bridge).
    public func save(_ vm: VirtualMachine, hostBridges: [Bridge], annotations: Annotations) throws(AgentError) {
        let own = hostBridges.filter { bridge in vm.nics.contains { $0.bridge == bridge.name } }
        let bridges = text(HostState(bridges: hostBridges, vms: []))
        do {
            try Files.makeDirectory(directory)
            try Files.writeAtomically(text(HostState(bridges: own, vms: [vm]), annotations: annotations), to: path(vm.name.rawValue))
            if try Files.read(path("bridges")) != bridges { try Files.writeAtomically(bridges, to: path("bridges")) }
        } catch {
            throw AgentError(error.description)
        }
    }

    /// Records many VMs at once (resync): only the files whose text changes
    /// are written, with one flush for all, and `bridges.json` once.
    public func save(_ records: [(vm: VirtualMachine, annotations: Annotations)], hostBridges: [Bridge]) throws(AgentError) {
        var files: [(path: String, contents: String)] = []
        for record in records {
            let own = hostBridges.filter { bridge in record.vm.nics.contains { $0.bridge == bridge.name } }
            files.append((path(record.vm.name.rawValue), text(HostState(bridges: own, vms: [record.vm]), annotations: record.annotations)))
        }
        files.append((path("bridges"), text(HostState(bridges: hostBridges, vms: []))))
        do {
            try Files.makeDirectory(directory)
            try Files.writeAtomically(files.filter { (try? Files.read($0.path)) != $0.contents }, in: directory)
        } catch {
            throw AgentError(error.description)
        }
    }

    /// Deletes the temporary files of writes that were killed midway
    /// (`.<file>.<pid>.tmp`); call it only under the command lock.
    public func removeLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
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

    /// The host file's JSON, with the annotations as its `agent` object.
    private func text(_ host: HostState, annotations: Annotations? = nil) -> String {
        let data = annotations.flatMap { try? HostFile.encode(host, adding: "agent", $0) } ?? HostFile.encode(host)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
