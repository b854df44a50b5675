import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func defaultNetworkRules(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        guard name.kind == .user else { throw InputError(field: "vmname", value: name.rawValue, reason: "not a guest (i-) VM") }
        let id = try arguments.id
        let nic = try arguments.nic()
        var state = batch.host(name)
        let previous = state.vms.first { $0.name == name }
        if arguments.check {
            // The agent checks before every add_network_rules. Ours: repair,
            // change nothing. Rules the script wrote: leave them, as it would.
            if let previous, previous.nics.contains(where: { $0.vif == nic.vif }) {
                batch.change(state, name, previous: previous)
                return
            }
            if previous == nil, try kernel.hasDefaultRules(name, vif: nic.vif.rawValue) { return }
        }
        // A further NIC of a VM the script programmed: take the VM over first.
        let base = arguments.isFirstNIC ? nil : try previous ?? adopted(name, id: id, nic: nil)
        var vm = base ?? VirtualMachine(name: name, id: id, nics: [], rules: nil)
        vm.nics.removeAll { $0.vif == nic.vif || $0.mac == nic.mac }
        vm.nics.append(nic)
        try place(vm, in: &state)
        batch.change(state, name, previous: previous ?? base)
        if let ip = nic.ipv4, arguments.isFirstNIC {
            try writeLog(&batch, RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: ip.description,
                                 domainID: domainID(name), signature: "_initial_", sequence: "-1"))
        }
        if !nic.secondaryAddresses.isEmpty, let text = arguments.secondaryIPs {
            batch.write(RuleLog.secondaryIPLine(vmName: name.rawValue, secondaryIPs: text, vmID: arguments.vmID ?? ""),
                        to: logPath(name, "ip"))
        }
        try record(vm, &batch)
    }
}
