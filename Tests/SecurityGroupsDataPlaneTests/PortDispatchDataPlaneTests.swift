import TestSupport
import Testing
import SecurityGroupsCore
import SecurityGroupsSandbox
import SecurityGroupsKernel

/// The port dispatch: ports whose names are prefixes of each other reach
/// their own VM's rules and never another's, in both layouts.
@Suite(.serialized) struct PortDispatchDataPlaneTests {
    /// tap1 and tap123 allow only ssh; tap12 between them allows everything.
    @Test(arguments: Layout.allCases)
    func portsNamedAfterEachOthersPrefixesKeepTheirOwnRules(layout: Layout) throws {
        let ssh = NotrackLayoutDataPlaneTests.sshOnly, open = NotrackLayoutDataPlaneTests.open
        let sandbox = try Sandbox("prefix", layout: layout, rules: [ssh, open, ssh], numbers: [1, 12, 123])
        #expect(sandbox.host.vms.map(sandbox.host.vif(of:)) == ["tap1", "tap12", "tap123"])
        for number in [1, 12, 123] {
            let vm = sandbox.vm(number)
            for address in [vm.ipv4, vm.ipv6] {
                #expect(try sandbox.delivered(Probe(.tcp, to: address, port: 22), from: sandbox.outside), "tap\(number) \(address)")
                if number == 12 {
                    #expect(try sandbox.delivered(Probe(.tcp, to: address, port: 80), from: sandbox.outside))
                    #expect(try sandbox.delivered(Probe(.udp, to: address, port: 123), from: sandbox.outside))
                } else {
                    #expect(try sandbox.dropped(Probe(.tcp, to: address, port: 80),
                                                control: Probe(.tcp, to: address, port: 22), from: sandbox.outside), "tap\(number) \(address)")
                }
            }
        }
        // The open VM behind tap12 cannot reach tap1's or tap123's closed ports either.
        for number in [1, 123] {
            let target = sandbox.vm(number).ipv4
            #expect(try sandbox.dropped(Probe(.tcp, to: target, port: 80), control: Probe(.tcp, to: target, port: 22),
                                        from: sandbox.namespace(12)), "tap12 to tap\(number)")
        }
        // tap123 sending with tap12's address is dropped by tap123's own checks.
        let spoofed = sandbox.vm(12).ipv4
        try sandbox.host.ip(["-n", sandbox.namespace(123), "addr", "add", "\(spoofed)/32", "dev", "eth0"])
        try sandbox.host.ip(["-n", sandbox.outside, "neigh", "replace", "\(spoofed)", "lladdr", sandbox.vm(123).mac, "dev", "eth0"])
        #expect(try sandbox.dropped(Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80, from: spoofed),
                                    control: Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80), from: sandbox.namespace(123)))
    }
}

/// The open VMs' fast path is the one their untracked packets take: its
/// rules count them (the kernel reads the port of `cs_notrack_ports` from
/// the bridge port only with the match flag iptables cannot set).
@Suite(.serialized) struct FastPathDataPlaneTests {
    @Test func openVMsUntrackedPacketsTakeTheFastPath() throws {
        let open = NotrackLayoutDataPlaneTests.open
        let sandbox = try Sandbox("fastpath", layout: .notrack, rules: [open, open])
        let vm1 = sandbox.vm(1), vm2 = sandbox.vm(2)
        for (program, to, from) in [("iptables", vm1.ipv4, sandbox.outside), ("iptables", SandboxHost.outsideIPv4, sandbox.namespace(1)),
                                    ("iptables", vm2.ipv4, sandbox.namespace(1)), ("ip6tables", vm1.ipv6, sandbox.outside)] {
            let before = try counters(program, sandbox)
            #expect(try sandbox.delivered(Probe(.tcp, to: to, port: 80), from: from), "\(to) from \(from)")
            let after = try counters(program, sandbox)
            // The fast path's rules are the 2nd to 4th of BF-cloudbr0.
            #expect(zip(before, after).dropFirst().prefix(3).contains { $1 > $0 }, "\(program) to \(to): \(before) → \(after)")
        }
        #expect(try sandbox.conntrackEntries(ofVM: 1) == 0)
    }

    /// Packet counts of BF-cloudbr0's rules, in order.
    private func counters(_ program: String, _ sandbox: Sandbox) throws -> [Int] {
        let listing = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace, TestNetfilter.current.tool(program),
                                                         "-w", "-L", "BF-cloudbr0", "-v", "-x", "-n"], operation: "list counters")
        return listing.split(separator: "\n").dropFirst(2).compactMap { Int($0.split(separator: " ").first ?? "") }
    }
}

/// A rule naming several CIDRs (another group's members) matches them as
/// one set in `notrack`, and as one rule each in `classic`: the same packets
/// pass; the agent's updates replace and remove the set.
@Suite(.serialized) struct PeerSetDataPlaneTests {
    @Test(arguments: Layout.allCases)
    func aRuleOfManyCIDRsAllowsExactlyThem(layout: Layout) throws {
        let ssh = NotrackLayoutDataPlaneTests.sshOnly
        let sandbox = try Sandbox("peers", layout: layout, rules: [nil, ssh, ssh])
        let vm1 = sandbox.vm(1)
        try sandbox.host.setRules(vm1, "I:tcp;22;22;\(sandbox.vm(2).ipv4)/32,\(SandboxHost.outsideIPv4)/32,NEXT;")
        // A set that does not exist lists nothing.
        func members() -> Set<String> { (try? sandbox.setMembers("i-2-1-VM-i0")) ?? [] }
        #expect(members() == (layout.exemptsOpenVMs ? [sandbox.vm(2).ipv4.description, SandboxHost.outsideIPv4.description] : []))
        let toVM1 = Probe(.tcp, to: vm1.ipv4, port: 22)
        #expect(try sandbox.delivered(toVM1, from: sandbox.namespace(2)))
        #expect(try sandbox.delivered(toVM1, from: sandbox.outside))
        #expect(try sandbox.dropped(toVM1, control: Probe(.tcp, to: sandbox.vm(2).ipv4, port: 22), from: sandbox.namespace(3)))
        // One CIDR again: a rule of its own, and the set is gone.
        try sandbox.host.setRules(vm1, "I:tcp;22;22;\(sandbox.vm(3).ipv4)/32,NEXT;")
        #expect(members().isEmpty)
        #expect(try sandbox.delivered(toVM1, from: sandbox.namespace(3)))
        #expect(try sandbox.dropped(toVM1, control: Probe(.tcp, to: sandbox.vm(3).ipv4, port: 22), from: sandbox.namespace(2)))
    }
}
