import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    /// Removes what VMs no longer running or paused left: every VM we
    /// recorded, and every VM chain in the kernel, that libvirt does not know.
    func cleanup() throws {
        let alive = try host.domains().filter { $0.state == .running || $0.state == .paused }.map(\.name)
        var (desired, _) = store.load()
        var dead = Set(desired.vms.map(\.name).filter { !alive.contains($0.rawValue) })
        let aliveChains = Set(alive.compactMap { try? VMName($0) }.flatMap { [NetfilterNames($0).vmChain, NetfilterNames.script($0).vmChain] })
        for chain in try host.vmChainNames(layout: layout) where !aliveChains.contains(chain) && !alive.contains(where: { $0.hasPrefix(chain) }) {
            if let name = try? VMName(chain) { dead.insert(name) }
        }
        guard !dead.isEmpty else { return }
        var vmScope = VMScope()
        for name in dead { vmScope.add(name, programmed: desired.vms.first { $0.name == name }, desired: nil) }
        desired.vms.removeAll { dead.contains($0.name) }
        let scope = try vmScope.scope(kernel)
        let report = try host.apply(ApplyOptions()) { Renderer.render(desired, layout: layout, scope: scope) }
        log(report, for: dead.map(\.rawValue).sorted().joined(separator: ", "))
        for name in dead {
            try store.remove(name)
            try Files.remove(logPath(name, "log"))
            try Files.remove(logPath(name, "ip"))
        }
    }
}
