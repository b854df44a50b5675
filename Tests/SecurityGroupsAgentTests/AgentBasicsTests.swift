import Foundation
import Testing
@testable import SecurityGroupsAgent
import SecurityGroupsCore
import SecurityGroupsKernel

@Suite struct AgentBasicsTests {
    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sgagent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func configurationDefaultsAndParsing() throws {
        let defaults = AgentConfiguration()
        #expect(defaults.layout == .notrack && defaults.libvirtURI == "qemu:///system" && defaults.runDirectory == "/var/run/cloud")
        #expect(defaults.netfilter == .auto)
        let parsed = try AgentConfiguration(parsing: """
            # a comment
            layout = classic
            netfilter = nftables
              libvirt_uri=test:///tmp/domains.xml
            run_dir = /tmp/run
            state_dir = /tmp/state
            lock_file = /tmp/sg.lock
            log_file = /tmp/sg.log
            """, path: "sg.conf")
        #expect(parsed.layout == .classic && parsed.libvirtURI == "test:///tmp/domains.xml" && parsed.netfilter == .nftables)
        #expect(parsed.runDirectory == "/tmp/run" && parsed.stateDirectory == "/tmp/state")
        #expect(parsed.lockFile == "/tmp/sg.lock" && parsed.logFile == "/tmp/sg.log")
    }

    @Test func configurationErrorsNameTheLine() {
        func error(_ text: String) -> String? {
            do { _ = try AgentConfiguration(parsing: text, path: "sg.conf"); return nil } catch { return error.description }
        }
        #expect(error("layout = fast") == "invalid sg.conf:1 layout 'fast': must be notrack, classic or native")
        #expect(error("netfilter = iptables") == "invalid sg.conf:1 netfilter 'iptables': must be auto, legacy or nftables")
        #expect(error("\ncolour = blue") == "invalid sg.conf:2 'colour': unknown setting")
        #expect(error("run_dir = relative/dir") == "invalid sg.conf:1 run_dir 'relative/dir': must be an absolute path")
        #expect(error("layout") == "invalid sg.conf:1 'layout': expected key = value")
    }

    @Test func ruleLogFormat() {
        let log = RuleLog(vmName: "i-2-7-VM", vmID: "7", vmIP: "10.1.0.7", domainID: "1",
                          signature: "438a50a1784dbfeb6c2bac921d63a0b6", sequence: "1")
        #expect(log.line == "i-2-7-VM,7,10.1.0.7,1,438a50a1784dbfeb6c2bac921d63a0b6,1\n")
        #expect(RuleLog(parsing: log.line) == log)
        #expect(RuleLog(parsing: "a,b,c\n") == nil)
        #expect(RuleLog.secondaryIPLine(vmName: "i-2-7-VM", secondaryIPs: "10.1.0.71;10.1.0.72;2001:db8::71;", vmID: "7")
            == "i-2-7-VM,10.1.0.71;10.1.0.72;2001:db8::71;,7\n")
    }

    @Test func domainIDPlaceholdersAreReplacedByTheirDomainsIDs() throws {
        let (seven, eight) = (try VMName("i-2-7-VM"), try VMName("i-3-8-VM"))
        let text = "i-2-7-VM,7,10.1.0.7,\(DomainIDPlaceholder.of(seven)),sig,1\n\(DomainIDPlaceholder.of(eight))"
        var asked: [String] = []
        let resolved = DomainIDPlaceholder.resolve(text) { name in
            asked.append(name)
            return name == "i-2-7-VM" ? "5" : "None"
        }
        #expect(resolved == "i-2-7-VM,7,10.1.0.7,5,sig,1\nNone" && asked == ["i-2-7-VM", "i-3-8-VM"])
        #expect(DomainIDPlaceholder.resolve("i-2-7-VM,7,10.1.0.7,5,sig,1\n") { _ in Issue.record("asked"); return "" } == "i-2-7-VM,7,10.1.0.7,5,sig,1\n")
    }

    @Test func stateStoreRoundTripsAndSkipsCorruptFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bridge = Bridge(name: try InterfaceName("cloudbr0", field: "b"), uplink: try InterfaceName("eth0", field: "u"))
        let vm = VirtualMachine(name: try VMName("i-2-7-VM"), id: 7, nics: [
            NIC(vif: try InterfaceName("vnet7", field: "v"), bridge: bridge.name, mac: MACAddress("02:00:00:00:00:07"),
                ipv4: IPv4Address("10.1.0.7"), secondaryAddresses: [IPAddress("2001:db8::71")!]),
        ], rules: try RuleParser.parse("I:tcp;22;22;0.0.0.0/0,NEXT;"))
        let store = StateStore(directory: directory)
        let annotations = StateStore.Annotations(layout: "notrack", ruleLog: "i-2-7-VM,7,10.1.0.7,3,abc,2\n")
        try store.save(vm, hostBridges: [bridge], annotations: annotations)
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: "\(directory)/i-2-8-VM.json"))
        let (host, problems) = store.load()
        #expect(host == HostState(bridges: [bridge], vms: [vm]))
        #expect(store.annotations() == [vm.name: annotations])
        try Data("half".utf8).write(to: URL(fileURLWithPath: "\(directory)/.i-2-7-VM.json.4242.tmp"))
        store.removeLeftovers()
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/.i-2-7-VM.json.4242.tmp"))
        #expect(store.load().host.vms == [vm])
        #expect(problems.count == 1 && problems[0].hasPrefix("\(directory)/i-2-8-VM.json: "))
        try store.remove(vm.name)
        #expect(store.load().host.vms.isEmpty)
    }

    @Test func fileLockWaitsAsLongAsItIsHeld() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/sg.lock"
        var held: FileLock? = try FileLock(path: path)
        #expect(held?.waited ?? 1 < 0.1)
        let waited = LockedValue<Result<Double, NetfilterError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            waited.set(Result { () throws(NetfilterError) in try FileLock(path: path).waited })
            done.signal()
        }
        // With a timeout (the xtables lock's way), the wait gives up.
        let started = Date()
        #expect(throws: NetfilterError.self) { _ = try FileLock(path: path, timeout: 0.2) }
        #expect(Date().timeIntervalSince(started) >= 0.2)
        usleep(300_000)
        #expect(done.wait(timeout: .now()) == .timedOut, "the second lock is taken while the first is held")
        held = nil
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(try #require(waited.get()).get() >= 0.25)
    }
}

/// A value shared between threads.
private final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }
}
