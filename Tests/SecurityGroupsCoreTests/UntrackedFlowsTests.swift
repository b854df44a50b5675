import Testing
import SecurityGroupsCore

/// Which conntrack entries a change of the notrack sets makes stale.
@Suite struct UntrackedFlowsTests {
    private func set(_ name: String, _ family: AddressFamily, _ members: [String]) -> IPSet {
        IPSet(name: name, type: .hashIP, family: family, addresses: members.compactMap(IPAddress.init))
    }

    @Test func addressesJoiningANotrackSetAndThePeersThatStayTracked() {
        let desired = [
            set("cs_notrack", .ipv4, ["10.0.0.11", "10.0.0.12"]), set("cs_tracked", .ipv4, ["10.0.0.13"]),
            set("cs_notrack6", .ipv6, ["fd00::11"]), set("cs_tracked6", .ipv6, []),
        ]
        let kernel = [
            KernelSet(name: "cs_notrack", type: "hash:ip", family: .ipv4, members: ["10.0.0.12"]),
            KernelSet(name: "cs_tracked", type: "hash:ip", family: .ipv4, members: ["10.0.0.11", "10.0.0.14"]),
        ]
        let flows = UntrackedFlows.plan(desired: desired, kernel: kernel)
        #expect(flows.addresses == Set(["10.0.0.11", "fd00::11"].compactMap(IPAddress.init)))
        // Tracked now or still in the kernel's tracked set (a VM scope renders only its VM), minus the newly untracked.
        #expect(flows.trackedPeers == Set(["10.0.0.13", "10.0.0.14"].compactMap(IPAddress.init)))

        let vm = IPAddress("10.0.0.11")!, outside = IPAddress("192.0.2.1")!, host = IPAddress("10.0.0.1")!
        #expect(flows.contains(source: vm, destination: outside, keeping: [host]))
        #expect(flows.contains(source: outside, destination: vm, keeping: [host]))
        #expect(!flows.contains(source: vm, destination: host, keeping: [host]))
        #expect(!flows.contains(source: IPAddress("10.0.0.13")!, destination: vm, keeping: [host]))
        #expect(!flows.contains(source: IPAddress("10.0.0.12")!, destination: outside, keeping: [host]), "already untracked")
    }

    @Test func nothingWhenTheSetsDoNotGrow() {
        let desired = [set("cs_notrack", .ipv4, ["10.0.0.12"]), set("cs_tracked", .ipv4, [])]
        let kernel = [KernelSet(name: "cs_notrack", type: "hash:ip", family: .ipv4, members: ["10.0.0.12", "10.0.0.15"])]
        #expect(UntrackedFlows.plan(desired: desired, kernel: kernel).isEmpty)
        #expect(UntrackedFlows.plan(desired: [], kernel: []).isEmpty, "classic has no notrack sets")
    }
}
