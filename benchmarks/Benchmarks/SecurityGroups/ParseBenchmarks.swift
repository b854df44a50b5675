import Benchmark
import SecurityGroupsAgent
import SecurityGroupsCore

/// Parsing and validating one agent command's arguments, as the agent passes
/// them for add_network_rules (independent of the host's size).
func parseBenchmarks() {
    let words = [
        "--vmname", "i-2-7-VM", "--vmid", "7", "--vmip", "10.1.0.7", "--vmip6", "2001:db8::7", "--vmmac", "02:00:00:00:00:07",
        "--vif", "vnet7", "--brname", "cloudbr0", "--nicsecips", "10.1.0.71;10.1.0.72;", "--sig", "0123456789abcdef", "--seq", "3",
        "--rules=I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;"
            + "I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;",
    ]
    Benchmark("parse add_network_rules arguments and rules") { benchmark in
        for _ in benchmark.scaledIterations {
            let arguments = try AgentArguments(parsing: words)
            blackHole(try RuleParser.parse(arguments.rules ?? ""))
            blackHole(try VMName(arguments.vmName ?? ""))
        }
    }
}
