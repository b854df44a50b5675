import Foundation
import Logging
@testable import SecurityGroupsAgent
import SecurityGroupsCore
import SecurityGroupsKernel

/// An agent over an in-memory host, with its own run and state
/// directories and libvirt's test driver holding `domains`: for testing the
/// commands' decisions without root.
final class AgentHarness {
    /// A libvirt test domain: running (with an id) or defined only.
    struct Domain {
        var name: String
        var running = true
        /// `(mac, bridge, vif)` in device order.
        var interfaces: [(mac: String, bridge: String, vif: String)] = []
    }

    let directory: String
    let host: InMemoryHost
    private(set) var agent: Agent

    init(layout: Layout = .notrack, domains: [Domain]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let xml = "<node>\n" + domains.enumerated().map { index, domain in
            let interfaces = domain.interfaces.map { """
                <interface type='bridge'><mac address='\($0.mac)'/><source bridge='\($0.bridge)'/><target dev='\($0.vif)'/></interface>
                """ }.joined()
            return """
                <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>\(domain.name)</name>
                <uuid>6f1d3c52-0000-4d4f-9d1c-\(String(format: "%012d", index))</uuid><memory unit='KiB'>65536</memory>
                <os><type arch='x86_64'>hvm</type></os><devices>\(interfaces)</devices>
                <test:runstate>\(domain.running ? 1 : 5)</test:runstate></domain>
                """
        }.joined(separator: "\n") + "\n</node>\n"
        try xml.write(toFile: "\(directory)/domains.xml", atomically: true, encoding: .utf8)
        var configuration = AgentConfiguration()
        configuration.layout = layout
        configuration.layoutIsSet = true
        configuration.libvirtURI = "test://\(directory)/domains.xml"
        configuration.runDirectory = "\(directory)/run"
        configuration.stateDirectory = "\(directory)/state"
        configuration.lockFile = "\(directory)/lock"
        configuration.logFile = "\(directory)/log"
        host = try InMemoryHost(libvirtURI: configuration.libvirtURI)
        host.uplinks = ["cloudbr0": "eth0", "cloudbr1": "eth1"]
        agent = Agent(configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, host: host)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Runs commands together, as one process holding the lock finds them waiting.
    func run(_ commands: [(Agent.Command, String)]) throws -> [Result<Agent.Outcome, AgentError>] {
        agent.carryOut(try commands.map { ($0.0, try AgentArguments(parsing: Self.words($0.1))) })
    }

    /// Runs one command and returns its outcome, throwing its failure.
    @discardableResult
    func run(_ command: Agent.Command, _ arguments: String = "") throws -> Agent.Outcome {
        try run([(command, arguments)])[0].get()
    }

    /// The failure of a command expected to fail.
    func failure(_ command: Agent.Command, _ arguments: String) throws -> AgentError? {
        if case .failure(let error) = try run([(command, arguments)])[0] { return error }
        return nil
    }

    /// A new agent over the same host and directories: a process that starts afresh.
    func restart() {
        agent = Agent(configuration: agent.configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, host: host)
    }

    /// `--rules` and the like hold no spaces: arguments split on them.
    private static func words(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

    /// The domain's id as the rule logs write it (libvirt's test driver
    /// numbers running domains across the whole process).
    func id(_ domain: String) -> String {
        ((try? host.domain(named: domain)) ?? nil).map { $0.id.map(String.init) ?? "-1" } ?? "None"
    }

    func file(_ path: String) -> String? { try? String(contentsOfFile: "\(directory)/\(path)", encoding: .utf8) }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: "\(directory)/\(path)") }

    // MARK: The agent's usual arguments

    static let vm7 = Domain(name: "i-2-7-VM", interfaces: [("02:00:00:00:00:07", "cloudbr0", "vnet7")])
    static let vm8 = Domain(name: "i-2-8-VM", interfaces: [("02:00:00:00:00:08", "cloudbr0", "vnet8")])

    /// `default_network_rules` of a guest's NIC.
    static func defaultRules(_ vm: Int, vif: String? = nil, mac: String? = nil, ip: String? = nil, first: Bool = true,
                             bridge: String = "cloudbr0", extra: String = "") -> String {
        "--vmname i-2-\(vm)-VM --vmid \(vm) --vmip \(ip ?? "10.1.0.\(vm)") --vmmac \(mac ?? "02:00:00:00:00:0\(vm)") --vif \(vif ?? "vnet\(vm)")"
            + " --brname \(bridge)" + (first ? " --isFirstNic" : "") + (extra.isEmpty ? "" : " \(extra)")
    }

    /// `add_network_rules` of a guest.
    static func addRules(_ vm: Int, rules: String, signature: String = "0123456789abcdef0123456789abcdef", sequence: Int = 1) -> String {
        "--vmname i-2-\(vm)-VM --vmid \(vm) --vmip 10.1.0.\(vm) --vmmac 02:00:00:00:00:0\(vm) --vif vnet\(vm) --brname cloudbr0"
            + " --sig \(signature) --seq \(sequence) --rules \(rules)"
    }
}
