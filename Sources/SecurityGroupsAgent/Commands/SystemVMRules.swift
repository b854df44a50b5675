import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func systemVM(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        guard name.kind == .system else { throw InputError(field: "vmname", value: name.rawValue, reason: "not a system (r-, s-, v-) VM") }
        let local = try arguments.localBridge.map { (text) throws(InputError) in try InterfaceName(text, field: "localbrname") }
        let interfaces = try host.interfaces(of: name.rawValue) ?? []
        var state = batch.host(name)
        var nics: [NIC] = []
        for interface in interfaces {
            guard let vifName = interface.vif, let bridgeName = interface.bridge, bridgeName != local?.rawValue else { continue }
            let nic = NIC(vif: try InterfaceName(vifName, field: "vif"), bridge: try InterfaceName(bridgeName, field: "brname"))
            nics.append(nic)
        }
        let previous = state.vms.first { $0.name == name }
        let vm = VirtualMachine(name: name, nics: nics)
        try place(vm, in: &state)
        batch.change(state, name, previous: previous)
        try writeLog(&batch, RuleLog(vmName: name.rawValue, vmID: "-1", vmIP: "_ignore_", domainID: domainID(name),
                             signature: "_initial_", sequence: "-1"))
        try record(vm, &batch)
    }
}
