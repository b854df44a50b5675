import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func postDefault(_ arguments: AgentArguments, _ batch: inout Batch) throws {
        let name = try arguments.name
        let vif = try InterfaceName(try arguments.required(arguments.vif, "vif"), field: "vif")
        let ip = try AgentArgument.ipv4(try arguments.required(arguments.vmIP, "vmip"))
        let metadata = MetadataRedirect(
            dhcpServer: try arguments.dhcpServer.map { (text) throws(InputError) in try AgentArgument.ipv4(text, field: "dhcpSvr") },
            hostIP: try AgentArgument.ipv4(try arguments.required(arguments.hostIP, "hostIp"), field: "hostIp"),
            hostMAC: try AgentArgument.mac(try arguments.required(arguments.hostMAC, "hostMacAddr"), field: "hostMacAddr"))
        var state = batch.host(name)
        guard let previous = try state.vms.first(where: { $0.name == name }) ?? adopted(name, id: nil, nic: nil),
              let index = previous.nics.firstIndex(where: { $0.vif == vif }) else {
            throw AgentError("post_default_network_rules \(name): no default rules for vif \(vif) (run default_network_rules first)")
        }
        var vm = previous
        vm.nics[index].metadata = metadata
        try place(vm, in: &state)
        batch.change(state, name, previous: previous)
        try writeLog(&batch, RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: ip.description, domainID: domainID(name),
                             signature: "_initial_", sequence: "-1"))
        try record(vm, &batch)
    }
}
