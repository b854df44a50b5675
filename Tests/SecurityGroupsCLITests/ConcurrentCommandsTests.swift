import Foundation
import Testing
import TestSupport

/// Commands the agent runs at the same time (a host back from maintenance,
/// HA, a bulk deploy): waiting commands are carried out together, and leave
/// what they leave one by one.
@Suite(.serialized) struct ConcurrentCommandsTests {
    static let signature = "e12f0db5bafe4c54e738a2c4e20475fc"
    static let ssh = "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;"
    static let web = "I:tcp;80;443;0.0.0.0/0,::/0,NEXT;E:udp;53;53;10.0.0.0/8,NEXT;"

    static func nic(_ n: Int) -> [String] {
        ["--vmname", "i-2-\(n)-VM", "--vmid", "\(n)", "--vmip", "10.1.\(n / 256).\(n % 256)", "--vmip6", String(format: "2001:db8::%x", n),
         "--vmmac", mac(n), "--vif", "vnet\(n)", "--brname", "cloudbr0", "--nicsecips", "0;"]
    }

    static func mac(_ n: Int) -> String { String(format: "02:00:00:00:%02x:%02x", n / 256, n % 256) }
    static func rules(_ n: Int, _ rules: String, seq: Int) -> [String] {
        ["add_network_rules"] + nic(n) + ["--sig", signature, "--seq", "\(seq)", "--rules", rules]
    }

    /// Adds (`-A`) or removes (`-D`) a secondary address of VM 10.
    static func secondaryAddress(_ action: String) -> [String] {
        ["network_rules_vmSecondaryIp", "--vmname", "i-2-10-VM", "--vmmac", mac(10), "--nicsecips", "10.1.1.10", "--action=\(action)"]
    }

    /// What the agent runs when a VM starts: its default rules, then its rules.
    static func start(_ n: Int) -> [[String]] {
        [["default_network_rules"] + nic(n) + ["--isFirstNic"], rules(n, ssh, seq: 1)]
    }

    /// A host whose libvirt runs VMs `numbers`, each with its port on the bridge.
    static func host(_ numbers: Range<Int>) throws -> ScenarioReplay {
        let replay = try ScenarioReplay(layout: .notrack)
        for n in numbers { try replay.define("i-2-\(n)-VM", nics: [("cloudbr0", "vnet\(n)", mac(n))]) }
        return replay
    }

    /// K clients at once, each running its commands in order, as the agent
    /// does for one VM: VM starts, destroys of running VMs, rule changes, and
    /// one start whose rules are malformed. Their exit statuses and output,
    /// the kernel, the rule logs and the state files are those of the same
    /// clients run one after the other.
    @Test(arguments: [2, 10, 50]) func togetherAsOneByOne(clients count: Int) throws {
        let numbers = 10..<(10 + count)
        let clients = numbers.map { n -> [[String]] in
            switch n % 5 {
            case 1: [["destroy_network_rules_for_vm", "--vmname", "i-2-\(n)-VM", "--vif", "vnet\(n)"]]
            case 2: [Self.rules(n, Self.web, seq: 2)]
            case 3 where n == 13: [Self.start(n)[0], Self.rules(n, "I:tcp;22;x;0.0.0.0/0,NEXT;", seq: 1)]
            default: Self.start(n)
            }
        }
        let programmedBefore = numbers.filter { [1, 2].contains($0 % 5) }
        var results: [[Tool.Result]] = []
        var hosts: [ScenarioReplay] = []
        for together in [true, false] {
            let replay = try Self.host(numbers)
            for n in programmedBefore { for command in Self.start(n) { #expect(try replay.agent(command).status == 0) } }
            if together {
                let lock = try HeldLock(replay.directory.appendingPathComponent("sg.lock").path)
                results = try ConcurrentClients.run(clients, on: replay) {
                    // All first commands wait in the queue before the lock is let go: one batch.
                    try lock.waitForQueue(count, timeout: 60)
                    lock.release()
                }
            } else {
                let serial = try clients.map { try $0.map { try replay.agent($0) } }
                #expect(serial.map { $0.map(\.status) } == results.map { $0.map(\.status) })
                #expect(serial.map { $0.map(\.stdout) } == results.map { $0.map(\.stdout) })
            }
            hosts.append(replay)
        }
        let statuses = results.map { $0.map(\.status) }
        #expect(statuses.flatMap { $0 }.filter { $0 != 0 }.count == (count >= 4 ? 1 : 0), "\(statuses)")
        let (together, oneByOne) = (hosts[0], hosts[1])
        let difference = try KernelDumps.read(together.namespace).difference(from: KernelDumps.read(oneByOne.namespace))
        #expect(difference.isEmpty, "\(difference)")
        #expect(try together.ruleLogs() == oneByOne.ruleLogs())
        #expect(try together.stateFiles() == oneByOne.stateFiles())
        let log = try together.agentLog()
        #expect(log.contains("with \(count - 1) other command(s)"), "the first commands were not carried out together")
    }

    /// Two rule updates for one VM at once end as the one carried out later,
    /// never as a mix.
    @Test func theLaterOfTwoRequestsForOneVMWins() throws {
        let replay = try Self.host(10..<11)
        for command in Self.start(10) { #expect(try replay.agent(command).status == 0) }
        let lock = try HeldLock(replay.directory.appendingPathComponent("sg.lock").path)
        let updates = [Self.rules(10, Self.web, seq: 2), Self.rules(10, Self.ssh + "I:udp;53;53;0.0.0.0/0,NEXT;", seq: 3)]
        let results = try ConcurrentClients.run(updates.map { [$0] }, on: replay) {
            try lock.waitForQueue(2, timeout: 60)
            lock.release()
        }
        #expect(results.map { $0.map(\.status) } == [[0], [0]])
        let log = try replay.agentLog()
        let carriedOut = updates.sorted { update, other in
            log.range(of: "--seq \(update[update.firstIndex(of: "--seq")! + 1])")!.lowerBound
                < log.range(of: "--seq \(other[other.firstIndex(of: "--seq")! + 1])")!.lowerBound
        }
        let serial = try Self.host(10..<11)
        for command in Self.start(10) + carriedOut { #expect(try serial.agent(command).status == 0) }
        let difference = try KernelDumps.read(replay.namespace).difference(from: KernelDumps.read(serial.namespace))
        #expect(difference.isEmpty, "\(difference)")
        #expect(try replay.ruleLogs() == serial.ruleLogs())
        #expect(try replay.stateFiles() == serial.stateFiles())
    }

    /// A resync carries out, after its own transaction, the agent commands
    /// that waited for it (a host coming back).
    @Test func resyncCarriesOutWhatWaited() throws {
        let replay = try Self.host(10..<12)
        for command in Self.start(10) { #expect(try replay.agent(command).status == 0) }
        // A request of this (running) process waits in the queue, as an agent command's would.
        let folder = replay.directory.appendingPathComponent(String(format: "sg.lock.queue/%020d-%d", 1, getpid()))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let request: [String: Any] = ["command": "default_network_rules", "arguments": Self.nic(11) + ["--isFirstNic"]]
        try JSONSerialization.data(withJSONObject: request).write(to: folder.appendingPathComponent("request"))
        #expect(try replay.agent(["resync"]).status == 0)
        let response = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("response"))) as? [String: Any]
        #expect(response?["status"] as? Int == 0 && response?["error"] == nil, "\(String(describing: response))")
        let log = try replay.agentLog()
        let resynced = try #require(log.range(of: "resync: "))
        #expect(log.range(of: "Executing command: default_network_rules --vmname i-2-11-VM", range: resynced.upperBound..<log.endIndex) != nil)
        let verify = ["verify_network_rules", "--vmname", "i-2-11-VM", "--vmip", "10.1.0.11", "--vmmac", Self.mac(11),
                      "--vif", "vnet11", "--brname", "cloudbr0"]
        #expect(try replay.agent(verify).status == 0)
    }

    /// The process carrying out the others' commands is killed (kill -9) at
    /// 30 random points: every other client is answered, the killed one's
    /// command succeeds when retried, and the host ends as if each had run once.
    @Test func killingTheCarrierLosesNoCommand() throws {
        let numbers = 10..<14
        let replay = try Self.host(numbers)
        for n in numbers { for command in Self.start(n) { #expect(try replay.agent(command).status == 0) } }
        // Each VM's ingress chain with either rule set: a table is old or new, never a mix.
        let variants = try [(Self.web, 0), (Self.ssh, 1)].map { rules, seq in
            for n in numbers { #expect(try replay.agent(Self.rules(n, rules, seq: seq)).status == 0) }
            return try Self.ingressChains(replay, numbers)
        }
        #expect(variants[0] != variants[1] && Set(variants[0].values).count == 1)
        var generator = SystemRandomNumberGenerator()
        var (kills, round) = (0, 0)
        while kills < 30, round < 150 {
            defer { round += 1 }
            // Rules of every VM, and a secondary address of one (which changes ebtables too).
            let updates = numbers.map { [Self.rules($0, round % 2 == 0 ? Self.web : Self.ssh, seq: round + 2)] }
                + [[Self.secondaryAddress(round % 2 == 0 ? "-A" : "-D")]]
            let lock = try HeldLock(replay.directory.appendingPathComponent("sg.lock").path)
            let results = try ConcurrentClients.run(updates, on: replay) {
                try lock.waitForQueue(updates.count, timeout: 60)
                lock.release()
                usleep(UInt32.random(in: 0...60_000, using: &generator))
                if let carrier = lock.holder(), kill(carrier, SIGKILL) == 0 { kills += 1 }
            }
            let chains = try Self.ingressChains(replay, numbers)
            #expect(numbers.allSatisfy { chains[$0] == variants[0][$0] || chains[$0] == variants[1][$0] }, "round \(round): \(chains)")
            for (update, result) in zip(updates, results) where result[0].status != 0 {
                #expect(result[0].status == SIGKILL, "round \(round): \(result[0].stderr)")
                #expect(try replay.agent(update[0]).status == 0, "round \(round): the retry")
            }
            #expect(try Self.ingressChains(replay, numbers) == variants[round % 2], "round \(round)")
        }
        #expect(kills == 30, "the carrier was killed in \(kills) of \(round) rounds")
        let serial = try Self.host(numbers)
        let last = round - 1
        for n in numbers { for command in Self.start(n) + [Self.rules(n, last % 2 == 0 ? Self.web : Self.ssh, seq: last + 2)] { #expect(try serial.agent(command).status == 0) } }
        if last % 2 == 0 { #expect(try serial.agent(Self.secondaryAddress("-A")).status == 0) }
        let difference = try KernelDumps.read(replay.namespace).difference(from: KernelDumps.read(serial.namespace))
        #expect(difference.isEmpty, "\(difference)")
        for n in numbers {
            let verify = ["verify_network_rules", "--vmname", "i-2-\(n)-VM", "--vmip", "10.1.0.\(n)", "--vmmac", Self.mac(n),
                          "--vif", "vnet\(n)", "--brname", "cloudbr0"]
            #expect(try replay.agent(verify).status == 0)
        }
    }
}

extension ConcurrentCommandsTests {
    /// The VMs' ingress chains as iptables-save prints them, the chain's name left out.
    static func ingressChains(_ replay: ScenarioReplay, _ numbers: Range<Int>) throws -> [Int: String] {
        let save = try replay.namespace.run(TestNetfilter.current.iptablesSave, ["-t", "filter"]).split(separator: "\n")
        return Dictionary(uniqueKeysWithValues: numbers.map { n in
            let prefix = "-A i-2-\(n)-VM "
            return (n, save.filter { $0.hasPrefix(prefix) }.map { $0.dropFirst(prefix.count) }.joined(separator: "\n"))
        })
    }
}

/// Clients running their command lists at once against one host, each in order.
enum ConcurrentClients {
    /// Starts every client, runs `meanwhile`, and returns each client's results once all are done.
    static func run(_ clients: [[[String]]], on replay: ScenarioReplay, meanwhile: () throws -> Void) throws -> [[Tool.Result]] {
        let results = Results(count: clients.count)
        let group = DispatchGroup()
        // The clients only call `agent`, which reads the replay's constants.
        nonisolated(unsafe) let replay = replay
        for (index, commands) in clients.enumerated() {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                for command in commands {
                    guard let result = try? replay.agent(command) else { return results.fail(index) }
                    results.append(result, at: index)
                    if result.status != 0 { break }
                }
            }
        }
        try meanwhile()
        #expect(group.wait(timeout: .now() + 300) == .success, "clients still running after 300 s")
        #expect(results.unstarted().isEmpty, "clients that could not start a command: \(results.unstarted())")
        return results.all()
    }

    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [[Tool.Result]]
        private var failed: [Int] = []
        init(count: Int) { values = Array(repeating: [], count: count) }
        func append(_ result: Tool.Result, at index: Int) { lock.withLock { values[index].append(result) } }
        func fail(_ index: Int) { lock.withLock { failed.append(index) } }
        func all() -> [[Tool.Result]] { lock.withLock { values } }
        func unstarted() -> [Int] { lock.withLock { failed } }
    }
}

/// The command lock held by the test, so that clients queue up behind it.
final class HeldLock {
    let path: String
    private var descriptor: Int32

    init(_ path: String) throws {
        self.path = path
        descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0, flock(descriptor, LOCK_EX) == 0 else { throw ToolError("cannot lock \(path)") }
    }

    deinit { release() }

    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    /// Waits until `count` requests wait in the queue beside the lock.
    func waitForQueue(_ count: Int, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        func queued() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(path).queue")) ?? [])
                .count { FileManager.default.fileExists(atPath: "\(path).queue/\($0)/request") }
        }
        while queued() < count {
            guard Date() < deadline else { throw ToolError("fewer than \(count) requests queued after \(timeout) s") }
            usleep(5_000)
        }
    }

    /// The process that holds the lock now, from `/proc/locks`.
    func holder() -> pid_t? {
        var status = stat()
        guard stat(path, &status) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        for line in locks.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 5, fields[1] == "FLOCK", fields[5].split(separator: ":").last == Substring(String(status.st_ino)) else { continue }
            return pid_t(fields[4])
        }
        return nil
    }
}
