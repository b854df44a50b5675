import Testing
import SecurityGroupsCore
import SecurityGroupsSandbox

/// Every row of the notrack layout's data-plane table (notrack-layout.md §6),
/// with real packets, in every layout: `classic` is the control.
@Suite(.serialized) struct NotrackLayoutDataPlaneTests {
    static let open = "I:all;0;0;0.0.0.0/0,::/0,NEXT;"
    static let sshOnly = "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;"
    static let egressRestricted = "I:all;0;0;0.0.0.0/0,::/0,NEXT;E:tcp;80;80;0.0.0.0/0,::/0,NEXT;"
    static let ingressRestricted = "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;E:all;0;0;0.0.0.0/0,::/0,NEXT;"

    @Test(arguments: Layout.allCases)
    func outsideToOpenVMIsDeliveredAndUntracked(layout: Layout) throws {
        let sandbox = try Sandbox("o2open", layout: layout, rules: [Self.open])
        let vm = sandbox.vm(1)
        for probe in [Probe(.tcp, to: vm.ipv4, port: 22), Probe(.udp, to: vm.ipv4, port: 53), Probe(.icmp, to: vm.ipv4),
                      Probe(.tcp, to: vm.ipv6, port: 8080), Probe(.udp, to: vm.ipv6, port: 5000), Probe(.icmp, to: vm.ipv6)] {
            #expect(try sandbox.delivered(probe, from: sandbox.outside), "\(probe)")
        }
        let entries = try sandbox.conntrackEntries(ofVM: 1)
        if layout.exemptsOpenVMs { #expect(entries == 0) } else { #expect(entries >= 6) }
    }

    @Test(arguments: Layout.allCases)
    func openVMToOutsideIsDeliveredAndUntracked(layout: Layout) throws {
        let sandbox = try Sandbox("open2o", layout: layout, rules: [Self.open])
        for probe in [Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80), Probe(.udp, to: SandboxHost.outsideIPv4, port: 123),
                      Probe(.icmp, to: SandboxHost.outsideIPv6), Probe(.tcp, to: SandboxHost.outsideIPv6, port: 22)] {
            #expect(try sandbox.delivered(probe, from: sandbox.namespace(1)), "\(probe)")
        }
        let entries = try sandbox.conntrackEntries(ofVM: 1)
        if layout.exemptsOpenVMs { #expect(entries == 0) } else { #expect(entries >= 4) }
    }

    @Test(arguments: Layout.allCases)
    func floodOfDistinctFlowsToOpenVM(layout: Layout) throws {
        let sandbox = try Sandbox("flood", layout: layout, rules: [Self.open])
        let before = try Conntrack.count(in: sandbox.host.hostNamespace)
        let flood = try UDPFlood(flows: 10_000, to: sandbox.vm(1).ipv4, ports: [5000]).run(from: sandbox.outside)
        let after = try Conntrack.count(in: sandbox.host.hostNamespace)
        #expect(flood.answered > 9_900, "answered \(flood.answered) of 10000")
        let ofVM = try sandbox.conntrackEntries(ofVM: 1)
        if layout.exemptsOpenVMs {
            // The host's own traffic (IGMP reports from the bridge address) may add a few.
            #expect(ofVM == 0 && after - before < 10, "\(before) -> \(after), \(ofVM) of the VM")
        } else {
            #expect(ofVM >= flood.answered && after - before >= flood.answered, "\(before) -> \(after), \(ofVM) of the VM, \(flood.answered) answered")
        }
    }

    @Test(arguments: Layout.allCases)
    func outsideToTrackedVMOnAllowedAndOtherPort(layout: Layout) throws {
        let sandbox = try Sandbox("o2tracked", layout: layout, rules: [Self.sshOnly])
        let vm = sandbox.vm(1)
        // The allowed port, delivered, is each drop's control.
        #expect(try sandbox.dropped(Probe(.tcp, to: vm.ipv4, port: 80), control: Probe(.tcp, to: vm.ipv4, port: 22), from: sandbox.outside))
        #expect(try sandbox.dropped(Probe(.udp, to: vm.ipv6, port: 53), control: Probe(.tcp, to: vm.ipv6, port: 22), from: sandbox.outside))
        // The two connections that got through, as in classic; nothing for the drops.
        #expect(try sandbox.conntrackEntries(ofVM: 1) == 2)
    }

    @Test(arguments: Layout.allCases)
    func trackedVMReachesOpenVMOnTheSameHost(layout: Layout) throws {
        let sandbox = try Sandbox("t2open", layout: layout, rules: [Self.open, Self.sshOnly])
        #expect(try sandbox.delivered(Probe(.tcp, to: sandbox.vm(1).ipv4, port: 80), from: sandbox.namespace(2)))
        #expect(try sandbox.delivered(Probe(.tcp, to: sandbox.vm(1).ipv6, port: 80), from: sandbox.namespace(2)))
        #expect(try sandbox.conntrackEntries(ofVM: 2) == 2, "the tracked VM's flows stay tracked")
    }

    @Test(arguments: Layout.allCases)
    func openVMToTrackedVMOnAPortItDoesNotAllow(layout: Layout) throws {
        let sandbox = try Sandbox("open2t", layout: layout, rules: [Self.open, Self.sshOnly])
        #expect(try sandbox.dropped(Probe(.tcp, to: sandbox.vm(2).ipv4, port: 80),
                                    control: Probe(.tcp, to: sandbox.vm(2).ipv4, port: 22), from: sandbox.namespace(1)))
        #expect(try sandbox.dropped(Probe(.udp, to: sandbox.vm(2).ipv6, port: 123),
                                    control: Probe(.tcp, to: sandbox.vm(2).ipv6, port: 22), from: sandbox.namespace(1)))
    }

    @Test(arguments: Layout.allCases)
    func oneWayOpenVMsStayTracked(layout: Layout) throws {
        let sandbox = try Sandbox("oneway", layout: layout, rules: [Self.egressRestricted, Self.ingressRestricted])
        if layout.exemptsOpenVMs {
            #expect(try sandbox.setMembers("cs_notrack").isEmpty)
            #expect(try sandbox.setMembers("cs_tracked") == ["10.77.0.11", "10.77.0.101", "10.77.0.12", "10.77.0.102"])
        }
        let first = sandbox.vm(1), second = sandbox.vm(2)
        #expect(try sandbox.delivered(Probe(.tcp, to: first.ipv4, port: 8080), from: sandbox.outside))
        #expect(try sandbox.dropped(Probe(.tcp, to: SandboxHost.outsideIPv4, port: 22),
                                    control: Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80), from: sandbox.namespace(1)))
        #expect(try sandbox.dropped(Probe(.tcp, to: second.ipv4, port: 80), control: Probe(.tcp, to: second.ipv4, port: 22), from: sandbox.outside))
        #expect(try sandbox.delivered(Probe(.udp, to: SandboxHost.outsideIPv4, port: 123), from: sandbox.namespace(2)))
        #expect(try sandbox.conntrackEntries(ofVM: 1) == 2)
        #expect(try sandbox.conntrackEntries(ofVM: 2) == 2)
    }

    @Test(arguments: Layout.allCases)
    func vmToHypervisorIsTracked(layout: Layout) throws {
        let sandbox = try Sandbox("hyper", layout: layout, rules: [Self.open])
        #expect(try sandbox.delivered(Probe(.tcp, to: SandboxHost.hypervisorIPv4, port: 22), from: sandbox.namespace(1)))
        #expect(try sandbox.delivered(Probe(.tcp, to: SandboxHost.hypervisorIPv6, port: 22), from: sandbox.namespace(1)))
        #expect(try sandbox.conntrackEntries(ofVM: 1) == 2)
    }

    @Test(arguments: Layout.allCases)
    func togglingAllowAllFollowsWithinOneCommand(layout: Layout) throws {
        let sandbox = try Sandbox("toggle", layout: layout, rules: [Self.sshOnly])
        let vm = sandbox.vm(1)
        #expect(try sandbox.dropped(Probe(.tcp, to: vm.ipv4, port: 80), control: Probe(.tcp, to: vm.ipv4, port: 22), from: sandbox.outside))
        try sandbox.host.setRules(vm, Self.open)
        if layout.exemptsOpenVMs {
            let members = try sandbox.setMembers("cs_notrack")
            #expect(members == ["10.77.0.11", "10.77.0.101"], "\(members)")
        }
        let before = try sandbox.conntrackEntries(ofVM: 1)
        #expect(try sandbox.delivered(Probe(.tcp, to: vm.ipv4, port: 80), from: sandbox.outside))
        #expect(try sandbox.conntrackEntries(ofVM: 1) == before + (layout.exemptsOpenVMs ? 0 : 1))
        try sandbox.host.setRules(vm, Self.sshOnly)
        if layout.exemptsOpenVMs {
            #expect(try sandbox.setMembers("cs_notrack").isEmpty)
            #expect(try sandbox.setMembers("cs_tracked") == ["10.77.0.11", "10.77.0.101"])
        }
        #expect(try sandbox.dropped(Probe(.tcp, to: vm.ipv4, port: 80), control: Probe(.tcp, to: vm.ipv4, port: 22), from: sandbox.outside))
    }
    /// Connections keep working while allow-all comes and goes. One
    /// deliberate difference: a connection opened while the VM was untracked,
    /// to a port the new rules close, is cut when it becomes tracked again
    /// (no conntrack entry remembers it; `classic` keeps it until it ends).
    @Test(arguments: Layout.allCases)
    func establishedFlowsSurviveTogglingAllowAll(layout: Layout) throws {
        let sandbox = try Sandbox("established", layout: layout, rules: [Self.sshOnly])
        let vm = sandbox.vm(1)
        let inbound = try TCPSession(from: sandbox.outside, to: vm.ipv4, port: 22)
        let outbound = try TCPSession(from: sandbox.namespace(1), to: SandboxHost.outsideIPv6, port: 80)
        #expect(inbound.exchange() && outbound.exchange())
        try sandbox.host.setRules(vm, Self.open)
        #expect(inbound.exchange(), "inbound, once open")
        #expect(outbound.exchange(), "outbound, once open")
        let openedInbound = try TCPSession(from: sandbox.outside, to: vm.ipv6, port: 22)
        let openedOutbound = try TCPSession(from: sandbox.namespace(1), to: SandboxHost.outsideIPv4, port: 8080)
        let openedToClosingPort = try TCPSession(from: sandbox.outside, to: vm.ipv4, port: 8080)
        #expect(openedInbound.exchange() && openedOutbound.exchange() && openedToClosingPort.exchange())
        try sandbox.host.setRules(vm, Self.sshOnly)
        #expect(inbound.exchange(), "inbound, tracked again")
        #expect(outbound.exchange(), "outbound, tracked again (its stale entry was forgotten)")
        #expect(openedInbound.exchange(), "opened while open to a port still allowed")
        #expect(openedOutbound.exchange(), "opened by the VM while open")
        #expect(openedToClosingPort.exchange() == (layout == .classic), "opened while open to a port now closed")
    }
}

/// The metadata redirect of post_default_network_rules (a DNAT to the
/// hypervisor) needs conntrack: in `notrack` its flows stay tracked even for
/// an open VM (the RETURN ahead of the NOTRACK rules), or NAT would be skipped.
@Suite(.serialized) struct MetadataRedirectDataPlaneTests {
    @Test(arguments: Layout.allCases)
    func metadataRequestsOfAnOpenVMReachTheHypervisor(layout: Layout) throws {
        let sandbox = try Sandbox("metadata", layout: layout, rules: [NotrackLayoutDataPlaneTests.open])
        let vm = sandbox.vm(1), namespace = sandbox.namespace(1)
        // The virtual router's address: nothing answers there but the redirect.
        let router = IPAddress("10.77.0.253")!
        try sandbox.host.ip(["-n", namespace, "neigh", "replace", "\(router)", "lladdr", "02:00:00:77:00:fd", "dev", "eth0"])
        let metadata = Probe(.tcp, to: router, port: 80)
        // Nothing answers there before the redirect; the VM's way out works.
        #expect(try sandbox.dropped(metadata, control: Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80), from: namespace), "no redirect yet")
        let before = try Conntrack.entries(in: sandbox.host.hostNamespace, of: metadata, from: vm.ipv4)
        #expect(before == (layout == .classic ? 1 : 0), "the unanswered attempt, tracked only in classic")
        try sandbox.host.redirectMetadata(vm, dhcpServer: router)
        #expect(try sandbox.delivered(metadata, from: namespace), "redirected to the hypervisor")
        #expect(try sandbox.delivered(Probe(.tcp, to: SandboxHost.outsideIPv4, port: 80), from: namespace))
        let after = try Conntrack.entries(in: sandbox.host.hostNamespace, of: metadata, from: vm.ipv4)
        #expect(after == before + 1, "the redirected flow is tracked in both layouts")
    }
}
