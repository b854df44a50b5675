import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func secondaryIP(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        let mac = try AgentArgument.mac(try arguments.required(arguments.vmMAC, "vmmac"))
        let addresses = try AgentArgument.secondaryIPs(try arguments.required(arguments.secondaryIPs, "nicsecips"))
        let action = try AgentArgument.action(try arguments.required(arguments.action, "action"))
        var state = batch.host(name)
        guard let previous = try state.vms.first(where: { $0.name == name }) ?? adopted(name, id: nil, nic: nil),
              let index = previous.nics.firstIndex(where: { $0.mac == mac }) else {
            throw AgentError("network_rules_vmSecondaryIp \(name): no NIC with MAC \(mac)")
        }
        var vm = previous
        for address in addresses {
            vm.nics[index].secondaryAddresses.removeAll { $0 == address }
            if action == .add { vm.nics[index].secondaryAddresses.append(address) }
        }
        try place(vm, in: &state)
        batch.change(state, name, previous: previous)
        try record(vm, &batch)
    }
}
