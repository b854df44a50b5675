import Foundation
import Testing

/// `security-groups plan` end to end, through the built binary.
@Suite struct PlanCommandTests {
    let example = BinaryRunner.packageRoot.appendingPathComponent("examples/host.json").path

    @Test(arguments: ["classic", "notrack"])
    func printsAllFourTextForms(layout: String) throws {
        let output = try BinaryRunner.run(["plan", "--host", example, "--layout", layout])
        #expect(output.status == 0)
        #expect(output.stderr.isEmpty)
        let headers = output.stdout.split(separator: "\n").filter { $0.hasPrefix("# ") }
        #expect(headers == ["# layout: \(layout)", "# iptables-save", "# ip6tables-save", "# ipset save", "# ebtables-save"])
        // classic: the script's one jump per port; notrack: the port dispatch tree.
        let portJumpChain = layout == "classic" ? "BF-cloudbr0-IN" : "sg-in-vnet"
        #expect(output.stdout.contains("-A \(portJumpChain) -m physdev --physdev-in vnet8 --physdev-is-bridged -j i-2-8-def"))
        #expect(output.stdout.contains("-A i-2-8-VM -s 2001:db8::/32") == false)
        #expect(output.stdout.contains("create i-2-8-VM-6 hash:net family inet6"))
        #expect(output.stdout.contains("-A i-2-8-VM-in-ips -p ARP -s 02:00:0a:01:00:08 --arp-ip-src 10.1.0.80 --arp-mac-src 02:00:0a:01:00:08 -j RETURN"))
        let notrackLines = output.stdout.contains("-j CT --notrack")
        #expect(notrackLines == (layout == "notrack"))
        #expect(output.stdout.contains("--dport 22 -m state --state NEW -j ACCEPT") == (layout == "classic"))
    }

    @Test func defaultsToNotrack() throws {
        let output = try BinaryRunner.run(["plan", "--host", example])
        #expect(output.stdout.hasPrefix("# layout: notrack\n"))
        #expect(output.stdout.contains("add cs_notrack 10.1.0.7"))
        #expect(output.stdout.contains("add cs_tracked 10.1.0.9"))
    }

    @Test func badInputIsOneLineAndNonZero() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sgplan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = directory.appendingPathComponent("host.json")
        try Data(#"{"bridges": [{"name": "cloudbr0", "uplink": "eth0"}], "vms": [{"name": "i-2-7-VM;id", "nics": []}]}"#.utf8).write(to: bad)
        let output = try BinaryRunner.run(["plan", "--host", bad.path])
        #expect(output.status != 0)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr == "Error: invalid vms[0].name 'i-2-7-VM;id': only letters, digits, '-', '_' and '.' are allowed\n")

        let missing = try BinaryRunner.run(["plan", "--host", directory.appendingPathComponent("none.json").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("Error: cannot read host file "))
        #expect(missing.stderr.split(separator: "\n").count == 1)

        let layout = try BinaryRunner.run(["plan", "--host", example, "--layout", "fast"])
        #expect(layout.status != 0)
        #expect(layout.stderr.contains("fast"))
    }

    /// The C shims link against the real libraries and answer.
    @Test func versionReportsTheSystemLibraries() throws {
        let output = try BinaryRunner.run(["version"])
        #expect(output.status == 0)
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("security-groups ") == true)
        #expect(lines.last?.hasPrefix("xtables libxtables.so.") == true)
        #expect(lines.last?.contains("ipset protocol 7,") == true)
        #expect(lines.last?.contains("libvirt unknown") == false)
    }
}
