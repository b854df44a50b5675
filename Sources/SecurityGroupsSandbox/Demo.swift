public import SecurityGroupsCore
public import SecurityGroupsKernel
import Foundation

/// The sandbox demo: three VMs behind one bridge, one open, one with
/// restricted ingress, one with restricted egress; programmed through the
/// agent commands; then probed with real packets from outside, from each
/// other and towards the hypervisor, counting conntrack entries per flow.
public struct Demo {
    /// One probe's outcome, for the table.
    public struct Row: Sendable {
        public var vm: String
        public var rule: String
        public var probe: String
        public var expected: Bool
        public var got: Bool
        /// The host's conntrack entries for the probe's flow after it ran.
        public var conntrackEntries: Int
    }

    public static let prefix = "sgdemo"
    public static let tcpPorts: [UInt16] = [22, 80, 443, 8080]
    public static let udpPorts: [UInt16] = [53, 123]

    public let layout: Layout
    public let netfilter: NetfilterSetting
    public let binary: String
    /// Where the rules went (the iptables tables in nf_tables or legacy
    /// x_tables, or our own nf_tables tables), once `run` has programmed the VMs.
    public private(set) var programmedNetfilter = ""

    public init(layout: Layout, netfilter: NetfilterSetting = .auto, binary: String) {
        self.layout = layout
        self.netfilter = netfilter
        self.binary = binary
    }

    /// Builds the sandbox, programs and probes it, removes it (also when a
    /// step fails) and returns the rows.
    public mutating func run() throws -> [Row] {
        let host = try SandboxHost(prefix: Self.prefix, layout: layout, netfilter: netfilter,
                                   vmCount: 3, binary: binary)
        defer { host.destroy() }
        let open = host.vms[0], ingress = host.vms[1], egress = host.vms[2]
        let rules = [
            (open, "ingress all, egress open", "I:all;0;0;0.0.0.0/0,::/0,NEXT;"),
            (ingress, "ingress tcp/22 only", "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;"),
            (egress, "ingress all, egress tcp/80 only", "I:all;0;0;0.0.0.0/0,::/0,NEXT;E:tcp;80;80;0.0.0.0/0,::/0,NEXT;"),
        ]
        for (vm, _, text) in rules {
            try host.startVM(vm)
            try host.setRules(vm, text)
        }
        if layout == .native {
            programmedNetfilter = "our own nf_tables tables (\(NativeRuleset.tableNames.joined(separator: ", ")))"
        } else {
            programmedNetfilter = "the iptables tables in " + (try host.programmedNetfilter())
        }
        let responder = try Responder(namespaces: [host.outsideNamespace, host.hostNamespace] + host.vms.map(host.namespace(of:)),
                                      tcpPorts: Self.tcpPorts, udpPorts: Self.udpPorts)
        defer { responder.stop() }

        let outside = (namespace: host.outsideNamespace, v4: SandboxHost.outsideIPv4, v6: SandboxHost.outsideIPv6)
        func from(_ vm: SandboxHost.VM) -> (namespace: String, v4: IPAddress, v6: IPAddress) {
            (host.namespace(of: vm), vm.ipv4, vm.ipv6)
        }
        // (VM the row is about, its rule, source, probe, expected)
        let checks: [(SandboxHost.VM, (namespace: String, v4: IPAddress, v6: IPAddress), Probe, Bool, String)] = [
            (open, outside, Probe(.tcp, to: open.ipv4, port: 22), true, "outside ->"),
            (open, outside, Probe(.udp, to: open.ipv4, port: 53), true, "outside ->"),
            (open, outside, Probe(.icmp, to: open.ipv4), true, "outside ->"),
            (open, outside, Probe(.tcp, to: open.ipv6, port: 8080), true, "outside ->"),
            (open, outside, Probe(.icmp, to: open.ipv6), true, "outside ->"),
            (open, from(open), Probe(.tcp, to: outside.v4, port: 443), true, "-> outside"),
            (open, from(open), Probe(.tcp, to: ingress.ipv4, port: 80), false, "-> ingress VM"),
            (open, from(open), Probe(.tcp, to: SandboxHost.hypervisorIPv4, port: 22), true, "-> hypervisor"),
            (ingress, outside, Probe(.tcp, to: ingress.ipv4, port: 22), true, "outside ->"),
            (ingress, outside, Probe(.tcp, to: ingress.ipv6, port: 22), true, "outside ->"),
            (ingress, outside, Probe(.tcp, to: ingress.ipv4, port: 80), false, "outside ->"),
            (ingress, outside, Probe(.udp, to: ingress.ipv4, port: 53), false, "outside ->"),
            (ingress, outside, Probe(.icmp, to: ingress.ipv4), false, "outside ->"),
            (ingress, from(ingress), Probe(.tcp, to: open.ipv4, port: 80), true, "-> open VM"),
            (egress, outside, Probe(.tcp, to: egress.ipv4, port: 22), true, "outside ->"),
            (egress, from(egress), Probe(.tcp, to: outside.v4, port: 80), true, "-> outside"),
            (egress, from(egress), Probe(.tcp, to: outside.v6, port: 80), true, "-> outside"),
            (egress, from(egress), Probe(.tcp, to: outside.v4, port: 443), false, "-> outside"),
            (egress, from(egress), Probe(.udp, to: outside.v4, port: 123), false, "-> outside"),
            // DNS is always let out by the default rules, whatever the egress rules say.
            (egress, from(egress), Probe(.udp, to: outside.v4, port: 53), true, "-> outside"),
        ]
        var rows: [Row] = []
        for (vm, source, probe, expected, direction) in checks {
            let got = try probe.run(from: source.namespace)
            let sourceAddress = probe.destination.family == .ipv4 ? source.v4 : source.v6
            let entries = try Conntrack.entries(in: host.hostNamespace, of: probe, from: sourceAddress)
            let rule = rules.first { $0.0.number == vm.number }!.1
            rows.append(Row(vm: vm.name, rule: rule, probe: "\(direction) \(probe)", expected: expected, got: got,
                            conntrackEntries: entries))
        }
        return rows
    }

    /// The rows as an aligned text table.
    public static func table(_ rows: [Row]) -> String {
        let header = ["VM", "rule", "probe", "expected", "got", "conntrack entries"]
        let cells = rows.map { row in
            [row.vm, row.rule, row.probe, row.expected ? "delivered" : "dropped", row.got ? "delivered" : "dropped",
             "\(row.conntrackEntries)"]
        }
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + cells.map(line)).joined(separator: "\n") + "\n"
    }
}
