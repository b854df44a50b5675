import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

/// What `security-groups status` reports: each recorded VM and the host.
public struct HostStatus: Codable, Sendable {
    public struct VM: Codable, Sendable {
        public var name: String
        /// Whether libvirt runs it (or has it paused).
        public var running: Bool
        /// The layout it was last programmed in.
        public var layout: String?
        /// `tracked`, `untracked`, or `-` without an address of the family.
        public var ipv4: String
        public var ipv6: String
        /// Security-group rules (`add_network_rules`); nil before any arrived.
        public var rules: Int?
        /// Whether the kernel holds exactly its desired objects; nil when not running.
        public var inSync: Bool?
    }

    /// The configured layout.
    public var layout: String
    public var vms: [VM]
    /// Rules per table, every chain counted.
    public var tables: [String: Int]
    public var sets: Int
    public var conntrackEntries: Int?
    /// Whether the shared objects (bridge framework, raw rules, …) are as desired.
    public var hostInSync: Bool
    /// Changes a resync would make (in the `native` layout: the VMs and
    /// bridges out of sync, which a resync would write again).
    public var pendingChanges: Int
    /// Unreadable state files and similar.
    public var problems: [String]
}

extension Agent {
    /// Compares the recorded desired state with the kernel (a resync's dry run)
    /// and counts what the host holds. Changes nothing.
    public func status() throws(AgentError) -> HostStatus {
        do {
            try settleLayout()
            let desired = try desiredHost()
            let annotations = store.annotations()
            let native = layout == .native ? try nativeStatus(desired) : nil
            let changes = native != nil ? [] : try host.apply(ApplyOptions(dryRun: true)) {
                Renderer.render(desired.host, layout: layout, scope: desired.scope)
            }.changes
            let untracked = try native?.untracked
                ?? Set(host.sets(named: AddressFamily.allCases.map(NetfilterNames.notrackSet)).flatMap(\.members))
            var attributed = Set<Int>()
            var vms: [HostStatus.VM] = []
            for vm in desired.recorded {
                let running = desired.host.vms.first { $0.name == vm.name }
                var inSync: Bool?
                if let native, running != nil {
                    inSync = native.vmsInSync.contains(vm.name)
                } else if running != nil {
                    let mine = changes.indices.filter { changes[$0].concerns(running ?? vm) }
                    attributed.formUnion(mine)
                    inSync = mine.isEmpty
                }
                func tracking(_ family: AddressFamily) -> String {
                    let addresses = vm.nics.flatMap { $0.addresses(family) }.map(\.description)
                    guard !addresses.isEmpty else { return "-" }
                    return addresses.contains(where: untracked.contains) ? "untracked" : "tracked"
                }
                vms.append(HostStatus.VM(name: vm.name.rawValue, running: running != nil, layout: annotations[vm.name]?.layout,
                                         ipv4: tracking(.ipv4), ipv6: tracking(.ipv6), rules: vm.rules?.count, inSync: inSync))
            }
            return HostStatus(layout: layout.rawValue, vms: vms,
                              tables: Dictionary(uniqueKeysWithValues: try host.ruleCounts().map { ($0.table, $0.rules) }),
                              sets: try host.sets(named: nil).count, conntrackEntries: host.conntrackEntries,
                              hostInSync: native?.bridgesInSync ?? (attributed.count == changes.count),
                              pendingChanges: native.map { state in
                                  vms.filter { $0.inSync == false }.count + (state.bridgesInSync ? 0 : 1)
                              } ?? changes.count,
                              problems: desired.problems)
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("status: \(error)")
        }
    }
}
