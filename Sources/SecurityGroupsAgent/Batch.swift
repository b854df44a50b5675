import Foundation
import SecurityGroupsKernel
import SecurityGroupsCore

/// Agent commands carried out as one transaction. Each command reads its
/// VM's desired state and the rule logs here and leaves here what it
/// changes, seeing what the commands before it left; the kernel is then
/// changed once for all of them (one commit per table), and each command's
/// files are written, in the commands' order. A value: a command that fails
/// is undone by keeping the copy from before it.
struct Batch {
    private let store: StateStore
    /// The host's bridges: recorded, and as the commands add them.
    private var bridges: [Bridge]
    /// The VMs the commands changed, by name (nil: destroyed), and in the order they were first changed.
    private var changed: [VMName: VirtualMachine?] = [:]
    private var order: [VMName] = []
    /// The changed VMs and their interfaces, before and after.
    private var vmScope = VMScope()
    /// Whether some command changes ebtables.
    private(set) var changesEbtables = false
    /// Files as the commands left them (nil: removed), before they are written.
    private var files: [String: String?] = [:]
    /// The current command's file writes, in order.
    private var writes: [Write] = []

    /// A file the commands write after the kernel change.
    enum Write {
        case text(String, path: String)
        case removal(path: String)
        case record(VirtualMachine, bridges: [Bridge], StateStore.Annotations)
        case recordRemoval(VMName)
    }

    init(store: StateStore) {
        self.store = store
        bridges = store.bridges()
    }

    /// Whether some command changed a VM.
    var changesKernel: Bool { !order.isEmpty }

    /// What the commands changed, to render and apply in one scope.
    var host: HostState { HostState(bridges: bridges, vms: order.compactMap { changed[$0] ?? nil }) }
    func scope(_ kernel: KernelQuery) throws(NetfilterError) -> Scope { try vmScope.scope(kernel) }
    var names: [VMName] { order }

    /// The bridges and the VM as recorded, or as a command before left it.
    func host(_ name: VMName) -> HostState {
        if let vm = changed[name] { return HostState(bridges: bridges, vms: vm.map { [$0] } ?? []) }
        var host = store.load(name).host
        for bridge in bridges where !host.bridges.contains(where: { $0.name == bridge.name }) { host.bridges.append(bridge) }
        return host
    }

    /// Takes the VM's new desired state from `host` (gone when absent), and
    /// its interfaces before and after into the scope.
    mutating func change(_ host: HostState, _ name: VMName, previous: VirtualMachine?, extraVIFs: [String] = [], ebtables: Bool = true) {
        let current = host.vms.first { $0.name == name }
        if changed[name] == nil { order.append(name) }
        changed[name] = .some(current)
        vmScope.add(name, programmed: previous, desired: current, naming: extraVIFs)
        changesEbtables = changesEbtables || ebtables
        for bridge in host.bridges where !bridges.contains(where: { $0.name == bridge.name }) { bridges.append(bridge) }
    }

    /// A file's text as the commands left it, or as it is.
    func read(_ path: String) throws(Files.Failure) -> String? {
        if let pending = files[path] { return pending }
        return try Files.read(path)
    }

    mutating func write(_ text: String, to path: String) {
        files[path] = .some(text)
        writes.append(.text(text, path: path))
    }

    mutating func remove(_ path: String) {
        files[path] = .some(nil)
        writes.append(.removal(path: path))
    }

    mutating func record(_ vm: VirtualMachine, annotations: StateStore.Annotations) {
        writes.append(.record(vm, bridges: bridges, annotations))
    }

    mutating func removeRecord(_ name: VMName) { writes.append(.recordRemoval(name)) }

    /// The current command's writes, handed over so that the next command starts with none.
    mutating func takeWrites() -> [Write] {
        defer { writes = [] }
        return writes
    }

    /// Writes one command's files, their texts through `resolve` (the rule
    /// logs' domain ids: `DomainIDPlaceholder`), once per text: a rule log
    /// is written and recorded.
    func perform(_ writes: [Write], resolving resolve: (String) throws -> String) throws {
        var resolved: [String: String] = [:]
        func once(_ text: String) throws -> String {
            if let known = resolved[text] { return known }
            let result = try resolve(text)
            resolved[text] = result
            return result
        }
        for write in writes {
            switch write {
            case .text(let text, let path):
                try Files.makeDirectory((path as NSString).deletingLastPathComponent)
                try Files.write(try once(text), to: path)
            case .removal(let path): try Files.remove(path)
            case .record(let vm, let bridges, var annotations):
                annotations.ruleLog = try annotations.ruleLog.map(once)
                try store.save(vm, hostBridges: bridges, annotations: annotations)
            case .recordRemoval(let name): try store.remove(name)
            }
        }
    }
}
