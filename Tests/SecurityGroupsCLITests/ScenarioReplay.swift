import Foundation
import SecurityGroupsCore
import TestSupport

/// Replays a reference scenario's agent commands (`cmds.txt`) with our
/// binary, as the reference harness does with the script: a host namespace
/// with bridge `cloudbr0`, uplink `eth0` and one `vnetN` port per VM NIC,
/// libvirt's test driver describing the VMs, a configuration file of its own.
final class ScenarioReplay {
    static let fixtures = BinaryRunner.packageRoot.appendingPathComponent("Tests/SecurityGroupsCLITests/Fixtures/scripted")

    let namespace: NetworkNamespace
    let directory: URL
    let layout: Layout
    private var domains: [(name: String, nics: [(bridge: String, dev: String, mac: String)], paused: Bool)] = []
    /// Per command: the command line, its stdout and exit status.
    private(set) var results: [(command: String, stdout: String, status: Int32)] = []
    /// Dumps taken at `# snapshot:` lines.
    private(set) var snapshots: [String: KernelDumps] = [:]

    init(layout: Layout) throws {
        guard let namespace = try NetworkNamespace.make("replay") else { throw ToolError("not root: cannot create a network namespace") }
        self.namespace = namespace
        self.layout = layout
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sgreplay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("run"), withIntermediateDirectories: true)
        try writeDomains()
        try configure(layout: layout)
        try ensureBridge("cloudbr0")
        try namespace.run("/usr/sbin/ip", ["link", "add", "eth0", "type", "veth", "peer", "name", "uplink0"])
        try namespace.run("/usr/sbin/ip", ["link", "set", "eth0", "master", "cloudbr0", "up"])
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes the configuration file; a later call switches the layout (or
    /// the netfilter), as an operator would.
    func configure(layout: Layout, netfilter: String = TestNetfilter.current.setting) throws {
        try """
            layout = \(layout.rawValue)
            netfilter = \(netfilter)
            libvirt_uri = test://\(directory.path)/domains.xml
            run_dir = \(directory.path)/run
            state_dir = \(directory.path)/state
            lock_file = \(directory.path)/sg.lock
            log_file = \(directory.path)/sg.log

            """.write(to: directory.appendingPathComponent("sg.conf"), atomically: true, encoding: .utf8)
    }

    /// Replays `cmds.txt` of a scenario in `scripted/`, or in `directory`.
    func run(_ scenario: String, in directory: URL = fixtures) throws {
        let commands = try String(contentsOf: directory.appendingPathComponent(scenario).appendingPathComponent("cmds.txt"), encoding: .utf8)
        for line in commands.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# libvirt: define+start ") {
                let words = line.split(separator: " ").map(String.init)
                let nics = words.dropFirst(5).map { $0.replacingOccurrences(of: "nics=", with: "") }.map { spec -> (String, String, String) in
                    let parts = spec.split(separator: "/").map(String.init)
                    return (parts[0], parts[1], parts[2])
                }
                for nic in nics { try addPort(bridge: nic.0, dev: nic.1) }
                domains.append((words[3], nics.map { (bridge: $0.0, dev: $0.1, mac: $0.2) }, false))
                try writeDomains()
            } else if line.hasPrefix("# libvirt: remove ") {
                let name = line.split(separator: " ")[3]
                domains.removeAll { $0.name == name }
                try writeDomains()
            } else if line.hasPrefix("# snapshot: ") {
                snapshots[String(line.dropFirst(12))] = try KernelDumps.read(namespace)
            } else if !line.hasPrefix("#"), !line.isEmpty {
                let result = try agent(Array(Self.split(line).dropFirst()))
                results.append((line, result.stdout, result.status))
            }
        }
    }

    /// What the script printed and returned for each command of a scenario
    /// (`stdout.txt`), in order. The harness sorts `get_rule_logs_for_vms`
    /// entries, and loses an empty entry that came last.
    static func recorded(_ scenario: String) throws -> [(command: String, stdout: String, status: Int32)] {
        let text = try String(contentsOf: fixtures.appendingPathComponent(scenario).appendingPathComponent("stdout.txt"), encoding: .utf8)
        return try text.components(separatedBy: "\n$ [").map { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            guard let header = lines.first, let close = header.firstIndex(of: "]"),
                  let stdoutStart = lines.firstIndex(where: { $0.hasPrefix("--- stdout") }),
                  let stderrStart = lines.firstIndex(of: "--- stderr"),
                  let status = lines.last(where: { $0.hasPrefix("--- rc=") }).flatMap({ Int32($0.dropFirst(7)) })
            else { throw ToolError("\(scenario)/stdout.txt: unreadable block '\(block.prefix(80))'") }
            let stdout = lines[(stdoutStart + 1)..<stderrStart].map { $0 + "\n" }.joined()
            return (String(header[header.index(after: close)...].dropFirst()), stdout, status)
        }
    }

    /// The agent log (`log_file`).
    func agentLog() throws -> String {
        try String(contentsOf: directory.appendingPathComponent("sg.log"), encoding: .utf8)
    }

    /// Puts the script's kernel state and rule logs of a scenario in place,
    /// with our state store empty: a host the script programmed.
    func loadScriptState(_ scenario: String, logs logScenario: String? = nil, through netfilter: TestNetfilter = .current) throws {
        try GoldenHosts.loadScriptState(scenario, into: namespace, through: netfilter)
        try writeRuleLogs(Self.fixtures.appendingPathComponent(logScenario ?? scenario).appendingPathComponent("runlogs.txt"))
    }

    /// Script states recorded for their own sake, with no golden host file
    /// (`scenarios/` says how): `Fixtures/script-states/<name>`.
    static let scriptStates = fixtures.deletingLastPathComponent().appendingPathComponent("script-states")

    /// The same for a script state recorded for its own sake.
    func loadRecordedScriptState(_ name: String) throws {
        let directory = Self.scriptStates.appendingPathComponent(name)
        try GoldenHosts.loadScriptState(from: directory, into: namespace)
        try writeRuleLogs(directory.appendingPathComponent("runlogs.txt"))
    }

    /// Writes the rule logs of a `runlogs.txt` (`== name`, then content) into `run_dir`.
    private func writeRuleLogs(_ file: URL) throws {
        let logs = try String(contentsOf: file, encoding: .utf8)
        for block in logs.components(separatedBy: "== ").dropFirst() {
            let name = block.prefix { $0 != "\n" }
            try String(block.dropFirst(name.count + 1)).write(
                to: directory.appendingPathComponent("run").appendingPathComponent(String(name)), atomically: true, encoding: .utf8)
        }
    }

    /// Adds a VM to the libvirt test driver's domains, with its ports on the bridges.
    func define(_ name: String, nics: [(bridge: String, dev: String, mac: String)], paused: Bool = false) throws {
        for nic in nics { try addPort(bridge: nic.bridge, dev: nic.dev) }
        domains.append((name, nics, paused))
        try writeDomains()
    }

    /// Removes a VM from the libvirt test driver's domains (its ports stay).
    func remove(_ name: String) throws {
        domains.removeAll { $0.name == name }
        try writeDomains()
    }

    /// Runs one agent command (`security-groups <command> <arguments>`) in
    /// the namespace, through `wrapper` (a program and its first arguments,
    /// which runs the rest) if given.
    func agent(_ arguments: [String], wrapper: [String] = []) throws -> Tool.Result {
        let command = wrapper + [BinaryRunner.binary.path] + arguments
        return try namespace.exec(command[0], Array(command.dropFirst()),
                                  environment: ["SECURITY_GROUPS_CONFIG": directory.appendingPathComponent("sg.conf").path]
                                      .merging(NetworkNamespace.lockEnvironment) { first, _ in first })
    }

    /// The state store's files (`state_dir`): `== name` then content.
    func stateFiles() throws -> String {
        let state = directory.appendingPathComponent("state")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.path))?.sorted() ?? []
        return try names.map { "== \($0)\n" + (try String(contentsOf: state.appendingPathComponent($0), encoding: .utf8)) }.joined()
    }

    /// The rule-log directory as the harness writes it: `== name` then content.
    func ruleLogs() throws -> String {
        let run = directory.appendingPathComponent("run")
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path).sorted()
        return try names.map { "== \($0)\n" + (try String(contentsOf: run.appendingPathComponent($0), encoding: .utf8)) }.joined()
    }

    private func ensureBridge(_ bridge: String) throws {
        if try namespace.exec("/usr/sbin/ip", ["link", "show", bridge]).status != 0 {
            try namespace.run("/usr/sbin/ip", ["link", "add", bridge, "type", "bridge"])
            try namespace.run("/usr/sbin/ip", ["link", "set", bridge, "up"])
        }
    }

    private func addPort(bridge: String, dev: String) throws {
        try ensureBridge(bridge)
        guard try namespace.exec("/usr/sbin/ip", ["link", "show", dev]).status != 0 else { return }
        try namespace.run("/usr/sbin/ip", ["link", "add", dev, "type", "veth", "peer", "name", "p\(dev)"])
        try namespace.run("/usr/sbin/ip", ["link", "set", dev, "master", bridge, "up"])
    }

    private func writeDomains() throws {
        var xml = "<node>\n"
        for (index, domain) in domains.enumerated() {
            xml += """
                  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
                    <name>\(domain.name)</name>
                    <uuid>6f1d3c52-4a59-4d4f-9d1c-\(String(format: "%012d", index + 1))</uuid>
                    <memory unit='KiB'>262144</memory>
                    <vcpu>1</vcpu>
                    <os><type arch='x86_64'>hvm</type></os>
                    <devices>

                """
            for nic in domain.nics {
                xml += "      <interface type='bridge'><mac address='\(nic.mac)'/><source bridge='\(nic.bridge)'/><target dev='\(nic.dev)'/></interface>\n"
            }
            // libvirt's domain states: 1 running, 3 paused.
            xml += "    </devices>\n    <test:runstate>\(domain.paused ? 3 : 1)</test:runstate>\n  </domain>\n"
        }
        try (xml + "</node>\n").write(to: directory.appendingPathComponent("domains.xml"), atomically: true, encoding: .utf8)
    }

    /// Splits a command line the way the shell would for the quoting in cmds.txt (single quotes).
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var inWord = false
        for character in line {
            if character == "'" {
                quoted.toggle()
                inWord = true
            } else if character == " ", !quoted {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
