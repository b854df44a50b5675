import Foundation
import Testing
import SecurityGroupsCore
import SecurityGroupsKernel
import SecurityGroupsSandbox
import TestSupport

/// A VM the script programmed (classic is the script's kernel state, and
/// no record of ours) is taken over by its next command: afterwards no
/// rule of the script's dispatches to it, and its traffic is decided by the
/// new rules alone, on whichever netfilter this run programs.
@Suite(.serialized) struct TakeoverDataPlaneTests {
    @Test func aScriptVMTakenOverObeysOnlyTheNewRules() throws {
        let open = NotrackLayoutDataPlaneTests.open, sshOnly = NotrackLayoutDataPlaneTests.sshOnly
        let sandbox = try Sandbox("takeover", layout: .classic, rules: [open, open])
        let vm = sandbox.vm(1), vif = sandbox.host.vif(of: sandbox.vm(1))
        #expect(try sandbox.delivered(Probe(.tcp, to: vm.ipv4, port: 80), from: sandbox.outside), "the script's rules let port 80 in")
        // Only the script's kernel state is left: no record of ours.
        try FileManager.default.removeItem(atPath: sandbox.host.stateDirectory)
        try sandbox.host.configure(layout: .notrack)
        try sandbox.host.setRules(vm, sshOnly)

        let saved = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace, TestNetfilter.current.iptablesSave],
                                        operation: "save")
        let scriptDispatch = saved.split(separator: "\n").filter { $0.hasPrefix("-A BF-cloudbr0-") && $0.contains("\(vif) ") }
        #expect(scriptDispatch.isEmpty, "the script's jumps to the VM are left: \(scriptDispatch)")
        #expect(saved.contains("-A sg-in") && saved.contains(vif), "notrack's dispatch reaches the VM")
        let otherWorld = try RunningTool.run("/usr/sbin/ip", ["netns", "exec", sandbox.host.hostNamespace,
                                                            TestNetfilter.current.other.iptablesSave], operation: "save")
        #expect(!otherWorld.contains("i-2-1-VM"), "a second rule set in \(TestNetfilter.current.other)")

        for (port, allowed) in [(22, true), (80, false)] as [(UInt16, Bool)] {
            let probe = Probe(.tcp, to: vm.ipv4, port: port)
            if allowed {
                #expect(try sandbox.delivered(probe, from: sandbox.outside), "\(probe)")
            } else {
                #expect(try sandbox.dropped(probe, control: Probe(.tcp, to: vm.ipv4, port: 22), from: sandbox.outside), "\(probe)")
            }
        }
        // The other VM, still the script's, keeps its rules.
        #expect(try sandbox.delivered(Probe(.tcp, to: sandbox.vm(2).ipv4, port: 80), from: sandbox.outside))
    }
}
