public import SecurityGroupsCore
import SecurityGroupsKernel

/// N distinct UDP flows from outside at an open VM and at a tracked VM (one
/// that allows the flood's ports only), in a sandbox host of the given
/// layout: how many are answered, and how many conntrack entries they cost.
public struct FloodBenchmark {
    public struct Row: Sendable {
        public var layout: Layout
        public var vm: String
        public var flows: Int
        public var answered: Int
        /// The host's conntrack entries naming the VM, after its flood.
        public var entries: Int
        public var seconds: Double
    }

    public static let prefix = "sgflood"
    public static let ports: [UInt16] = [5000, 5001]

    public let flows: Int
    public let binary: String

    public init(flows: Int, binary: String) {
        self.flows = flows
        self.binary = binary
    }

    public func run(_ layout: Layout) throws -> [Row] {
        let host = try SandboxHost(prefix: Self.prefix, layout: layout, vmCount: 2, binary: binary)
        defer { host.destroy() }
        let vms = [(host.vms[0], "open (ingress all)", "I:all;0;0;0.0.0.0/0,::/0,NEXT;"),
                   (host.vms[1], "tracked (ingress udp 5000-5001)", "I:udp;5000;5001;0.0.0.0/0,::/0,NEXT;")]
        for (vm, _, rules) in vms {
            try host.startVM(vm)
            try host.setRules(vm, rules)
        }
        let responder = try Responder(namespaces: host.vms.map(host.namespace(of:)), tcpPorts: [], udpPorts: Self.ports)
        defer { responder.stop() }
        return try vms.map { vm, label, _ in
            let started = MonotonicClock.now()
            let outcome = try UDPFlood(flows: flows, to: vm.ipv4, ports: Self.ports).run(from: host.outsideNamespace)
            let seconds = MonotonicClock.now() - started
            let entries = try Conntrack.entries(in: host.hostNamespace, involving: [vm.ipv4, vm.ipv6])
            return Row(layout: layout, vm: label, flows: flows, answered: outcome.answered, entries: entries, seconds: seconds)
        }
    }

    /// The rows as a Markdown table.
    public static func table(_ rows: [Row]) -> String {
        var lines = ["| layout | VM | flows | answered | conntrack entries for the VM | seconds |", "| --- | --- | --- | --- | --- | --- |"]
        for row in rows {
            lines.append("| \(row.layout.rawValue) | \(row.vm) | \(row.flows) | \(row.answered) | \(row.entries) | \((row.seconds * 100).rounded() / 100) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
