import Testing
@testable import SecurityGroupsCore

/// Changes are attributed to the VMs they concern, and printed per table.
@Suite struct NetfilterChangeTests {
    private let vm = TestHosts.guest("i-2-7-VM", nics: [TestHosts.nic(7, ipv4: "10.1.0.7", ipv6: "2001:db8::7")], rules: nil)

    @Test func aVMsOwnObjectsAndWhatNamesItAreIts() {
        let mine: [NetfilterChange] = [
            .batchLine("ipset", "add i-2-7-VM 10.1.0.7"),
            .batchLine("ipset", "add cs_notrack_ports 10.1.0.7,physdev:vnet7"),
            .batchLine("ipset", "del cs_notrack6 2001:db8::7"),
            .iptables("iptables filter", .deleteChain("i-2-7-VM-eg")),
            .iptables("iptables filter", .delete(chain: "BF-cloudbr0-IN", index: 3)),
            .batchLine("ebtables nat", "-A i-2-7-VM-in-ips -j DROP"),
            NetfilterChange(table: "iptables filter", object: "sg-in-vnet", line: "-A sg-in-vnet -m physdev --physdev-in vnet7 --physdev-is-bridged -j i-2-7-def"),
        ]
        // A deletion by number names nothing: only its object could tell, and BF-cloudbr0-IN is everyone's.
        #expect(mine.map { $0.concerns(vm) } == [true, true, true, true, false, true, true])
        let others: [NetfilterChange] = [
            .batchLine("ipset", "add i-2-70-VM 10.1.0.70"),
            .batchLine("ipset", "add cs_notrack 10.1.0.70"),
            .batchLine("ebtables nat", "-A PREROUTING -i vnet70 -j i-2-70-VM-in"),
        ]
        #expect(others.allSatisfy { !$0.concerns(vm) })
    }

    @Test func textHasATableHeaderWhereTheTableChanges() {
        let changes: [NetfilterChange] = [
            .batchLine("ipset", "create i-2-7-VM hash:ip family inet"),
            .iptables("iptables filter", .createChain("i-2-7-VM")),
            .iptables("iptables filter", .flushChain("i-2-7-VM")),
            .iptables("ip6tables filter", .createChain("i-2-7-VM")),
            .batchLine("ebtables nat", "-N i-2-7-VM-in"),
        ]
        #expect(NetfilterChange.text(changes) == ["create i-2-7-VM hash:ip family inet", "*iptables filter", "-N i-2-7-VM", "-F i-2-7-VM",
                                                  "*ip6tables filter", "-N i-2-7-VM", "*ebtables nat", "-N i-2-7-VM-in"])
    }
}
