import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    func canBridgeFirewall(_ arguments: AgentArguments) throws -> Outcome {
        // The agent passes the public NIC it found, or an empty string; the script ignores it.
        if let nic = arguments.privateNIC, !nic.isEmpty { _ = try InterfaceName(nic, field: "privnic") }
        guard host.ebtablesInstalled else { return Outcome(output: "no ebtables on your host machine\n", status: 2) }
        try Files.makeDirectory(configuration.runDirectory)
        try cleanup()
        return Outcome()
    }
}
