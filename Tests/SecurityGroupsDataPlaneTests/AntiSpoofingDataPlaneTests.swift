import Testing
import SecurityGroupsCore
import SecurityGroupsSandbox

/// A VM can send only from the addresses CloudStack gave it, and cannot
/// claim other addresses over ARP, in both layouts.
@Suite(.serialized) struct AntiSpoofingDataPlaneTests {
    static let open = "I:all;0;0;0.0.0.0/0,::/0,NEXT;"

    @Test(arguments: Layout.allCases)
    func trafficFromAnAddressTheVMDoesNotOwnIsDropped(layout: Layout) throws {
        let sandbox = try Sandbox("ipspoof", layout: layout, rules: [Self.open, Self.open])
        let vm = sandbox.vm(1), namespace = sandbox.namespace(1)
        let unowned4 = IPAddress("10.77.0.200")!, unowned6 = IPAddress("fd77::200")!
        try sandbox.host.ip(["-n", namespace, "addr", "add", "\(unowned4)/24", "dev", "eth0"])
        try sandbox.host.ip(["-n", namespace, "addr", "add", "\(unowned6)/64", "dev", "eth0", "nodad"])
        // Answers could find their way back: only the rules decide.
        for peer in [sandbox.outside, sandbox.namespace(2)] {
            try sandbox.host.ip(["-n", peer, "neigh", "replace", "\(unowned4)", "lladdr", vm.mac, "dev", "eth0"])
            try sandbox.host.ip(["-n", peer, "neigh", "replace", "\(unowned6)", "lladdr", vm.mac, "dev", "eth0"])
        }
        let outside4 = SandboxHost.outsideIPv4, outside6 = SandboxHost.outsideIPv6
        #expect(try sandbox.delivered(Probe(.tcp, to: outside4, port: 80), from: namespace))
        #expect(try sandbox.delivered(Probe(.tcp, to: outside4, port: 80, from: vm.secondaryIPv4), from: namespace))
        #expect(try sandbox.delivered(Probe(.tcp, to: outside6, port: 80, from: vm.ipv6), from: namespace))
        #expect(try sandbox.dropped(Probe(.tcp, to: outside4, port: 80, from: unowned4),
                                    control: Probe(.tcp, to: outside4, port: 80), from: namespace))
        #expect(try sandbox.dropped(Probe(.udp, to: outside4, port: 123, from: unowned4),
                                    control: Probe(.udp, to: outside4, port: 123), from: namespace))
        #expect(try sandbox.dropped(Probe(.tcp, to: outside6, port: 80, from: unowned6),
                                    control: Probe(.tcp, to: outside6, port: 80, from: vm.ipv6), from: namespace))
        #expect(try sandbox.dropped(Probe(.tcp, to: sandbox.vm(2).ipv4, port: 80, from: unowned4),
                                    control: Probe(.tcp, to: sandbox.vm(2).ipv4, port: 80), from: namespace))
    }

    @Test(arguments: Layout.allCases)
    func arpClaimsForAddressesTheVMDoesNotOwnAreBlocked(layout: Layout) throws {
        let sandbox = try Sandbox("arpspoof", layout: layout, rules: [Self.open])
        let vm = sandbox.vm(1), namespace = sandbox.namespace(1)
        // The outside learns from gratuitous ARP, so a claim that gets through shows.
        try sandbox.host.writeSysctl("net/ipv4/conf/all/arp_accept", "1", in: sandbox.outside)
        try sandbox.host.writeSysctl("net/ipv4/conf/eth0/arp_accept", "1", in: sandbox.outside)
        #expect(try sandbox.delivered(Probe(.icmp, to: SandboxHost.hypervisorIPv4), from: sandbox.outside))
        let hypervisorMAC = try sandbox.neighbor(SandboxHost.hypervisorIPv4, in: sandbox.outside)
        #expect(hypervisorMAC != nil)

        let mac = MACAddress(vm.mac)!
        try ARPAnnouncement(IPv4Address("10.77.0.11")!, isAt: mac).send(from: namespace)
        try ARPAnnouncement(IPv4Address("10.77.0.77")!, isAt: mac).send(from: namespace)
        try ARPAnnouncement(IPv4Address("10.77.0.1")!, isAt: mac).send(from: namespace)
        Sandbox.settle()
        #expect(try sandbox.neighbor(vm.ipv4, in: sandbox.outside) == vm.mac, "its own address is announced")
        #expect(try sandbox.neighbor(IPAddress("10.77.0.77")!, in: sandbox.outside) == nil)
        #expect(try sandbox.neighbor(SandboxHost.hypervisorIPv4, in: sandbox.outside) == hypervisorMAC)
    }
}
