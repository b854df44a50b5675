import Foundation
import Glibc
public import SecurityGroupsCore
public import SecurityGroupsKernel

/// A KVM host made of network namespaces: `<prefix>-host` holds bridge
/// `cloudbr0` (the hypervisor's own address is on it), an uplink port to
/// `<prefix>-out` (the outside world) and one `tapN` port per VM, each VM a
/// namespace `<prefix>-vmN` behind it. VMs are programmed only through the
/// agent commands of a `security-groups` binary run in the host namespace,
/// with libvirt's test driver describing the same VMs.
public final class SandboxHost {
    /// One VM: `i-2-<number>-VM`, 10.77.0.<10+number>, fd77::<10+number>,
    /// and a secondary address 10.77.0.<100+number>.
    public struct VM: Sendable {
        public let number: Int
        public init(number: Int) { self.number = number }
        public var name: String { "i-2-\(number)-VM" }
        public var mac: String { String(format: "02:00:00:77:00:%02x", number) }
        public var ipv4: IPAddress { IPAddress("10.77.0.\(10 + number)")! }
        public var ipv6: IPAddress { IPAddress("fd77::\(10 + number)")! }
        public var secondaryIPv4: IPAddress { IPAddress("10.77.0.\(100 + number)")! }
    }

    public static let hypervisorMAC = "02:00:00:77:01:01"
    public static let hypervisorIPv4 = IPAddress("10.77.0.1")!
    public static let hypervisorIPv6 = IPAddress("fd77::1")!
    public static let outsideIPv4 = IPAddress("10.77.0.254")!
    public static let outsideIPv6 = IPAddress("fd77::fe")!

    public let prefix: String
    public private(set) var layout: Layout
    /// Where the agent programs the iptables tables (`netfilter` setting).
    public let netfilter: NetfilterSetting
    public let vms: [VM]
    private let binary: String
    private let directory: String

    /// Added to a VM's number for its vif's: each `reboot` renames them.
    public private(set) var vifBase = 0
    /// Not `vnetN`: libvirt reserves that prefix and its test driver renames
    /// such devices, so resync (which asks libvirt) could not be tested.
    public func vif(of vm: VM) -> String { "tap\(vm.number + vifBase)" }
    public var runDirectory: String { "\(directory)/run" }
    public var stateDirectory: String { "\(directory)/state" }

    public var hostNamespace: String { "\(prefix)-host" }
    public var outsideNamespace: String { "\(prefix)-out" }
    public func namespace(of vm: VM) -> String { "\(prefix)-vm\(vm.number)" }

    /// Builds the host and its VMs 1…`vmCount` (no rules yet). Namespaces
    /// left by an earlier run with the same prefix are removed first.
    public convenience init(prefix: String, layout: Layout, netfilter: NetfilterSetting = .auto, vmCount: Int, binary: String) throws {
        try self.init(prefix: prefix, layout: layout, netfilter: netfilter, vmNumbers: Array(1...vmCount), binary: binary)
    }

    /// The same with the VMs of these numbers (1…140: their addresses must fit).
    public init(prefix: String, layout: Layout, netfilter: NetfilterSetting = .auto, vmNumbers: [Int], binary: String) throws {
        self.prefix = prefix
        self.layout = layout
        self.netfilter = netfilter
        self.vms = vmNumbers.map(VM.init)
        self.binary = binary
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        Self.removeNamespaces(prefix: prefix)
        do {
            try build()
        } catch {
            destroy()
            throw error
        }
    }

    /// Removes every namespace and file the host made; safe to call twice.
    public func destroy() {
        Self.removeNamespaces(prefix: prefix)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Deletes the namespaces named `<prefix>-*`.
    public static func removeNamespaces(prefix: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        for name in names where name.hasPrefix(prefix + "-") {
            _ = try? RunningTool.run("/usr/sbin/ip", ["netns", "delete", name], operation: "ip netns delete")
        }
    }

    /// Runs one of the script's commands with our binary in the host namespace.
    @discardableResult
    public func agent(_ command: String, _ arguments: [String]) throws -> String {
        do {
            return try RunningTool.run("/usr/sbin/ip", ["netns", "exec", hostNamespace, "/usr/bin/env",
                                                        "SECURITY_GROUPS_CONFIG=\(directory)/sg.conf", binary, command] + arguments,
                                       operation: command)
        } catch {
            throw SandboxError("\(command): \(error.reason)")
        }
    }

    /// default_network_rules for the VM's only NIC, as the agent does at start.
    public func startVM(_ vm: VM) throws {
        try agent("default_network_rules", nicArguments(vm) + ["--isFirstNic"])
    }

    /// add_network_rules with `rules` in the script's syntax, e.g.
    /// `I:tcp;22;22;0.0.0.0/0,::/0,NEXT;`. Each call is a new sequence number.
    public func setRules(_ vm: VM, _ rules: String) throws {
        sequence += 1
        try agent("add_network_rules", nicArguments(vm) + ["--sig", String(format: "%016x", sequence), "--seq", "\(sequence)", "--rules", rules])
    }

    private var sequence = 0

    /// post_default_network_rules: the VM's HTTP to `dhcpServer` goes to the
    /// hypervisor's metadata service (DNAT to its address, MAC rewritten).
    public func redirectMetadata(_ vm: VM, dhcpServer: IPAddress) throws {
        try agent("post_default_network_rules", nicArguments(vm) + [
            "--dhcpSvr", "\(dhcpServer)", "--hostIp", "\(Self.hypervisorIPv4)", "--hostMacAddr", Self.hypervisorMAC,
        ])
    }

    private func nicArguments(_ vm: VM) -> [String] {
        ["--vmname", vm.name, "--vmid", "\(vm.number)", "--vmip", "\(vm.ipv4)", "--vmip6", "\(vm.ipv6)",
         "--vmmac", vm.mac, "--vif", vif(of: vm), "--brname", "cloudbr0", "--nicsecips", "\(vm.secondaryIPv4);"]
    }

    /// A reboot of the host: its namespace, bridge, ports and rules are gone
    /// and `run_dir` is empty; it comes back with new vif names (libvirt's
    /// domains say so) and no rules. The state directory survives.
    public func reboot() throws {
        try ip(["netns", "delete", hostNamespace])
        // The veth pairs go with the namespace, a moment later.
        for namespace in [outsideNamespace] + vms.map(namespace(of:)) {
            var attempts = 0
            while (try? ip(["-n", namespace, "link", "show", "eth0"])) != nil {
                attempts += 1
                guard attempts < 100 else { throw SandboxError("eth0 of \(namespace) outlives the host namespace") }
                usleep(50_000)
            }
        }
        try FileManager.default.removeItem(atPath: runDirectory)
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        vifBase += 100
        try domainsXML().write(toFile: "\(directory)/domains.xml", atomically: true, encoding: .utf8)
        try addNamespace(hostNamespace)
        try buildHost()
    }

    /// Takes the VM out of libvirt's running domains (its namespace stays).
    public func stop(_ vm: VM) throws {
        stopped.insert(vm.number)
        try domainsXML().write(toFile: "\(directory)/domains.xml", atomically: true, encoding: .utf8)
    }

    private var stopped: Set<Int> = []

    /// `security-groups apply` of the host as the agent recorded it (its
    /// state files as one host file) in `layout`: how a host moves to the
    /// `native` layout, or back. Returns the summary line.
    @discardableResult
    public func applyRecorded(layout: Layout) throws -> String {
        var host = HostState(bridges: [], vms: [])
        let files = try FileManager.default.contentsOfDirectory(atPath: stateDirectory).filter { $0.hasSuffix(".json") }.sorted()
        for file in files {
            let recorded = try HostFile.decode(Data(contentsOf: URL(fileURLWithPath: "\(stateDirectory)/\(file)")))
            host.bridges += recorded.bridges.filter { bridge in !host.bridges.contains { $0.name == bridge.name } }
            host.vms += recorded.vms
        }
        let path = "\(directory)/recorded-host.json"
        try HostFile.encode(host).write(to: URL(fileURLWithPath: path))
        return try agent("apply", ["--host", path, "--layout", layout.rawValue])
    }

    /// `security-groups resync` in the host namespace; returns its summary line.
    @discardableResult
    public func resync(_ arguments: [String] = []) throws -> String {
        try agent("resync", arguments)
    }

    // MARK: - Building

    private func addNamespace(_ namespace: String) throws {
        try ip(["netns", "add", namespace])
        // No duplicate address detection: addresses are usable at once.
        try writeSysctl("net/ipv6/conf/default/accept_dad", "0", in: namespace)
        try writeSysctl("net/ipv6/conf/all/accept_dad", "0", in: namespace)
        try ip(["-n", namespace, "link", "set", "lo", "up"])
    }

    /// Where the agent put the iptables tables: "nf_tables" or "legacy
    /// x_tables" (asked of iptables-nft-save, which reads nf_tables only).
    public func programmedNetfilter() throws -> String {
        let saved = try ip(["netns", "exec", hostNamespace, "/usr/sbin/iptables-nft-save", "-t", "filter"])
        return saved.contains(":BF-cloudbr0 ") ? "nf_tables" : "legacy x_tables"
    }

    /// Rewrites the agent's configuration with another layout, as an operator would.
    public func configure(layout: Layout) throws {
        self.layout = layout
        try writeConfiguration()
    }

    private func writeConfiguration() throws {
        try """
            layout = \(layout.rawValue)
            netfilter = \(netfilter.rawValue)
            libvirt_uri = test://\(directory)/domains.xml
            run_dir = \(directory)/run
            state_dir = \(directory)/state
            lock_file = \(directory)/sg.lock
            log_file = \(directory)/sg.log

            """.write(toFile: "\(directory)/sg.conf", atomically: true, encoding: .utf8)
    }

    private func build() throws {
        try FileManager.default.createDirectory(atPath: "\(directory)/run", withIntermediateDirectories: true)
        try writeConfiguration()
        try domainsXML().write(toFile: "\(directory)/domains.xml", atomically: true, encoding: .utf8)

        for namespace in [hostNamespace, outsideNamespace] + vms.map(namespace(of:)) { try addNamespace(namespace) }
        try buildHost()
    }

    /// The host namespace's bridge with the hypervisor's address, the uplink
    /// to the outside and one port per VM.
    private func buildHost() throws {
        try writeSysctl("net/bridge/bridge-nf-call-iptables", "1", in: hostNamespace)
        try writeSysctl("net/bridge/bridge-nf-call-ip6tables", "1", in: hostNamespace)
        try ip(["-n", hostNamespace, "link", "add", "cloudbr0", "address", Self.hypervisorMAC, "type", "bridge"])
        try ip(["-n", hostNamespace, "addr", "add", "10.77.0.1/24", "dev", "cloudbr0"])
        try ip(["-n", hostNamespace, "addr", "add", "fd77::1/64", "dev", "cloudbr0", "nodad"])
        try ip(["-n", hostNamespace, "link", "set", "cloudbr0", "up"])
        try connect(port: "eth0", to: outsideNamespace, mac: "02:00:00:77:00:fe", addresses: ["10.77.0.254/24", "fd77::fe/64"])
        for vm in vms {
            try connect(port: vif(of: vm), to: namespace(of: vm), mac: vm.mac,
                        addresses: ["\(vm.ipv4)/24", "\(vm.secondaryIPv4)/24", "\(vm.ipv6)/64"])
        }
    }

    /// A veth pair: `port` on the bridge, `eth0` in `namespace` with `addresses`.
    private func connect(port: String, to namespace: String, mac: String, addresses: [String]) throws {
        try ip(["-n", hostNamespace, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace])
        try ip(["-n", hostNamespace, "link", "set", port, "master", "cloudbr0", "up"])
        try ip(["-n", namespace, "link", "set", "eth0", "address", mac])
        for address in addresses {
            try ip(["-n", namespace, "addr", "add", address, "dev", "eth0"] + (address.contains(":") ? ["nodad"] : []))
        }
        try ip(["-n", namespace, "link", "set", "eth0", "up"])
    }

    private func domainsXML() -> String {
        let domains = vms.filter { !stopped.contains($0.number) }.map { vm in
            """
            <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>\(vm.name)</name>
            <uuid>6f1d3c52-4a59-4d4f-9d1c-\(String(format: "%012d", vm.number))</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu>
            <os><type arch='x86_64'>hvm</type></os><devices><interface type='bridge'><mac address='\(vm.mac)'/>
            <source bridge='cloudbr0'/><target dev='\(vif(of: vm))'/></interface></devices><test:runstate>1</test:runstate></domain>
            """
        }
        return "<node>\n" + domains.joined(separator: "\n") + "\n</node>\n"
    }

    /// Runs `ip` with `arguments` and returns what it prints.
    @discardableResult
    public func ip(_ arguments: [String]) throws -> String {
        do {
            return try RunningTool.run("/usr/sbin/ip", arguments, operation: "ip")
        } catch {
            throw SandboxError("ip \(arguments.joined(separator: " ")): \(error.reason)")
        }
    }

    /// Writes `/proc/sys/<key>` inside `namespace`.
    public func writeSysctl(_ key: String, _ value: String, in namespace: String) throws {
        try NamespaceThread.run(in: namespace) {
            try value.write(toFile: "/proc/sys/\(key)", atomically: false, encoding: .utf8)
        }
    }
}
