import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func addNetworkRules(_ arguments: AgentArguments, _ batch: inout Batch) throws -> Outcome {
        let name = try arguments.name
        let signature = try AgentArgument.signature(try arguments.required(arguments.signature, "sig"))
        let sequence = try AgentArgument.sequenceNumber(try arguments.required(arguments.sequence, "seq"))
        let rules = try RuleParser.parse(arguments.rules ?? "")
        let skipped = rules.flatMap { rule in
            rule.unusableCIDRs.map { "rules: skipped '\($0)' in '\(rule.wireForm)': not a CIDR, allows nothing" }
        }
        let nic = try arguments.nic()
        let log = RuleLog(vmName: name.rawValue, vmID: arguments.vmID ?? "", vmIP: arguments.vmIP ?? "",
                          domainID: domainID(name), signature: signature, sequence: String(sequence))
        var state = batch.host(name)
        let previous = state.vms.first { $0.name == name }
        // The script's "already programmed" check: nothing changed since the last log.
        if previous != nil, let logged = try readLog(name, batch), try sameLog(logged, log) { return Outcome(warnings: skipped) }
        let id = try arguments.id
        var vm = try previous ?? adopted(name, id: id, nic: nic) ?? VirtualMachine(name: name, id: id, nics: [nic])
        vm.rules = rules
        if !vm.nics.contains(where: { $0.vif == nic.vif }) { vm.nics.append(nic) }
        try place(vm, in: &state)
        batch.change(state, name, previous: previous, ebtables: previous?.nics != vm.nics)
        try writeLog(&batch, log)
        try record(vm, &batch)
        return Outcome(warnings: skipped)
    }
}
