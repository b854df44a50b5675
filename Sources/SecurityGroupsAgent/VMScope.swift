import SecurityGroupsCore
import SecurityGroupsKernel

/// The one rule for what a run for some VMs may change, followed by every
/// command that changes VMs (agent commands, cleanup, resync beside the
/// script's VMs, `apply --vm`): the VMs' own objects, and their share of
/// what VMs have in common on every interface they have in the desired
/// state, had when last programmed (as recorded, or as taken over), or the
/// command names. For a VM nothing says how it was programmed, also every
/// interface its chains in the kernel name (the script's VM, a record
/// lost), so that no dispatch entry of it is left behind.
struct VMScope {
    private(set) var names: Set<VMName> = []
    private var interfaces: Set<String> = []
    private var unrecorded: Set<VMName> = []

    /// A VM of the run: as last programmed (nil: unknown), as desired (nil:
    /// gone), and interfaces the command names.
    mutating func add(_ name: VMName, programmed: VirtualMachine?, desired: VirtualMachine?, naming named: [String] = []) {
        if !names.contains(name), programmed == nil { unrecorded.insert(name) }
        names.insert(name)
        interfaces.formUnion(((programmed?.nics ?? []) + (desired?.nics ?? [])).map(\.vif.rawValue) + named)
    }

    /// The scope, asking the kernel only about VMs nothing recorded.
    func scope(_ kernel: KernelQuery) throws(NetfilterError) -> Scope {
        .vms(names, vifs: interfaces.union(try kernel.ports(of: unrecorded)))
    }
}
