import TestSupport
import Foundation
import Glibc
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsSandbox

/// A sandbox host for one test, with responders in every namespace; built
/// from the `security-groups` binary SwiftPM puts next to the test bundle,
/// and always removed.
final class Sandbox {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("security-groups").path
    static let tcpPorts: [UInt16] = [22, 80, 8080]
    static let udpPorts: [UInt16] = [53, 123, 5000]

    let host: SandboxHost
    let layout: Layout
    private var responder: Responder?

    /// Builds the host with a VM per rule set, numbered from 1 or `numbers`,
    /// each started and given the rules at the same index (nil: started
    /// without add_network_rules).
    init(_ label: String, layout: Layout, rules: [String?], numbers: [Int]? = nil) throws {
        self.layout = layout
        host = try SandboxHost(prefix: "sgdp-\(label)-\(getpid())", layout: layout,
                               netfilter: NetfilterSetting(rawValue: TestNetfilter.current.setting)!,
                               vmNumbers: numbers ?? Array(1...rules.count), binary: Self.binary)
        do {
            for (vm, text) in zip(host.vms, rules) {
                try host.startVM(vm)
                if let text { try host.setRules(vm, text) }
            }
            responder = try Responder(namespaces: [host.outsideNamespace, host.hostNamespace] + host.vms.map(host.namespace(of:)),
                                      tcpPorts: Self.tcpPorts, udpPorts: Self.udpPorts)
        } catch {
            host.destroy()
            throw error
        }
    }

    /// Reboots the host (see `SandboxHost.reboot`); the responders' sockets
    /// would keep the old host namespace alive, so they are made again.
    func reboot() throws {
        responder?.stop()
        responder = nil
        try host.reboot()
        responder = try Responder(namespaces: [host.outsideNamespace, host.hostNamespace] + host.vms.map(host.namespace(of:)),
                                  tcpPorts: Self.tcpPorts, udpPorts: Self.udpPorts)
    }

    deinit {
        responder?.stop()
        host.destroy()
    }

    var outside: String { host.outsideNamespace }
    func vm(_ number: Int) -> SandboxHost.VM { host.vms.first { $0.number == number }! }
    func namespace(_ number: Int) -> String { host.namespace(of: vm(number)) }

    /// Whether the probe from `namespace` is answered.
    /// Waits up to 5 s, and returns as soon as the answer is there: a slow
    /// machine delays a delivered probe, it does not fail it.
    func delivered(_ probe: Probe, from namespace: String) throws -> Bool {
        try probe.run(from: namespace, timeout: 5)
    }

    /// Whether `probe` goes unanswered (within 1 s), once `control`, on the
    /// same path but allowed by the rules, was answered: so "dropped" means
    /// the rules dropped it, not that the path is broken or slow. Throws
    /// when the control is not answered.
    func dropped(_ probe: Probe, control: Probe, from namespace: String) throws -> Bool {
        guard try delivered(control, from: namespace) else { throw ControlNotDelivered(control: control, probe: probe) }
        return try !probe.run(from: namespace, timeout: 1)
    }

    struct ControlNotDelivered: Error, CustomStringConvertible {
        let control: Probe, probe: Probe
        var description: String { "the control \(control) was not answered: cannot tell whether \(probe) is dropped" }
    }

    /// The host's conntrack entries naming any address of VM `number`.
    func conntrackEntries(ofVM number: Int) throws -> Int {
        try Conntrack.entries(in: host.hostNamespace, involving: [vm(number).ipv4, vm(number).ipv6])
    }

    /// The MAC `namespace`'s neighbour table holds for `address`, if any.
    func neighbor(_ address: IPAddress, in namespace: String) throws -> String? {
        let line = try host.ip(["-n", namespace, "neigh", "show", "\(address)", "dev", "eth0"])
        let words = line.split(separator: " ").map(String.init)
        return words.firstIndex(of: "lladdr").flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
    }

    /// Gives packets in flight a moment to arrive.
    static func settle() {
        usleep(200_000)
    }

    /// The members of one of the host's sets, as `ipset list` prints them
    /// (`nft list set` in the `native` layout's IPv4 table).
    func setMembers(_ set: String) throws -> Set<String> {
        if layout == .native {
            let listing = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", host.hostNamespace, "/usr/sbin/nft", "list", "set", "ip",
                                                               NativeRuleset.tableName, set], operation: "nft list set")
            guard let start = listing.range(of: "elements = {") else { return [] }
            let elements = listing[start.upperBound...].prefix { $0 != "}" }
            return Set(elements.split(whereSeparator: { ", \n\t".contains($0) }).map(String.init))
        }
        let listing = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", host.hostNamespace, "/usr/sbin/ipset", "list", set],
                                          operation: "ipset list")
        return Set(listing.split(separator: "\n").drop { $0 != "Members:" }.dropFirst().map(String.init))
    }
}
