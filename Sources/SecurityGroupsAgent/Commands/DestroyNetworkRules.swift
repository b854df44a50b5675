import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func destroy(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        let vif = try arguments.vif.map { (text) throws(InputError) in try InterfaceName(text, field: "vif") }
        var state = batch.host(name)
        let previous = state.vms.first { $0.name == name }
        if arguments.vmIP != nil || arguments.vmMAC != nil {
            // One NIC of the VM (an unplug: the agent sends its MAC, and its
            // IPv4 address when it has one). The script takes a NIC without
            // IPv4 for the whole VM and leaves the VM's other NICs without rules.
            let ip = try arguments.vmIP.map { (text) throws(InputError) in try AgentArgument.ipv4(text) }
            let mac = try arguments.vmMAC.map { (text) throws(InputError) in try AgentArgument.mac(text) }
            guard var vm = previous else { return }
            vm.nics.removeAll { $0.vif == vif || (ip != nil && $0.ipv4 == ip) || (mac != nil && $0.mac == mac) }
            try place(vm, in: &state)
            batch.change(state, name, previous: previous, extraVIFs: vif.map { [$0.rawValue] } ?? [])
            try record(vm, &batch)
            return
        }
        state.vms.removeAll { $0.name == name }
        batch.change(state, name, previous: previous, extraVIFs: vif.map { [$0.rawValue] } ?? [])
        batch.removeRecord(name)
        batch.remove(logPath(name, "log"))
        batch.remove(logPath(name, "ip"))
    }
}
