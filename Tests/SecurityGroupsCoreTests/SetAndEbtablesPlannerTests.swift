import Testing
@testable import SecurityGroupsCore

@Suite struct SetAndEbtablesPlannerTests {
    @Test func parsesIpsetSave() {
        let sets = KernelSet.parseSave("""
            create i-2-7-VM hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1234
            add i-2-7-VM 10.1.0.7
            create i-2-7-VM-6 hash:net family inet6 hashsize 1024 maxelem 65536
            add i-2-7-VM-6 fe80::ff:fe00:7
            """)
        #expect(sets == [
            KernelSet(name: "i-2-7-VM", type: "hash:ip", family: .ipv4, members: ["10.1.0.7"]),
            KernelSet(name: "i-2-7-VM-6", type: "hash:net", family: .ipv6, members: ["fe80::ff:fe00:7"]),
        ])
    }

    /// Additions before the rules change, removals after; other sets untouched.
    @Test func setPlanOrdersAdditionsBeforeRemovals() {
        let desired = [
            IPSet(name: "cs_notrack", type: .hashIP, family: .ipv4, addresses: [.v4(IPv4Address("10.1.0.7")!)]),
            IPSet(name: "cs_tracked", type: .hashIP, family: .ipv4, addresses: []),
            IPSet(name: "i-2-9-VM", type: .hashIP, family: .ipv4, addresses: [.v4(IPv4Address("10.1.0.9")!)]),
        ]
        let kernel = [
            KernelSet(name: "cs_notrack", type: "hash:ip", family: .ipv4, members: []),
            KernelSet(name: "cs_tracked", type: "hash:ip", family: .ipv4, members: ["10.1.0.7"]),
            KernelSet(name: "i-2-8-VM", type: "hash:ip", family: .ipv4, members: ["10.1.0.8"]),
            KernelSet(name: "docker", type: "hash:ip", family: .ipv4, members: ["1.2.3.4"]),
        ]
        let plan = IPSetPlanner.plan(desired: desired, kernel: kernel)
        #expect(plan.beforeRules == ["add cs_notrack 10.1.0.7", "create i-2-9-VM hash:ip family inet", "add i-2-9-VM 10.1.0.9"])
        #expect(plan.afterRules == ["del cs_tracked 10.1.0.7", "destroy i-2-8-VM"])
    }

    @Test func setOfTheWrongTypeIsSwapped() {
        let desired = [IPSet(name: "i-2-7-VM-6", type: .hashNet, family: .ipv6, addresses: [.v6(IPv6Address("fe80::1")!)])]
        let kernel = [KernelSet(name: "i-2-7-VM-6", type: "hash:ip", family: .ipv6, members: ["fe80::1"])]
        let plan = IPSetPlanner.plan(desired: desired, kernel: kernel)
        #expect(plan.beforeRules == ["create sg-swap-1 hash:net family inet6", "add sg-swap-1 fe80::1", "swap sg-swap-1 i-2-7-VM-6"])
        #expect(plan.afterRules == ["destroy sg-swap-1"])
    }

    @Test func ebtablesBatchDeclaresChainsFirstAndRemovesOnlyOurs() {
        var desired = EbtablesTable()
        desired.chains["i-2-9-VM-in"] = [EbtablesRule(target: .jump("i-2-9-VM-in-src"))]
        desired.chains["i-2-9-VM-in-src"] = [EbtablesRule(target: .drop)]
        desired.builtinRules["PREROUTING"] = [EbtablesRule(inInterface: "vnet9", target: .jump("i-2-9-VM-in"))]
        let kernel = KernelEbtablesState.parseSave("""
            *nat
            :PREROUTING ACCEPT
            :OUTPUT ACCEPT
            :POSTROUTING ACCEPT
            :FOREIGN ACCEPT
            :i-2-8-VM-in ACCEPT
            -A PREROUTING -i eth9 -j FOREIGN
            -A PREROUTING -i vnet8 -j i-2-8-VM-in
            -A i-2-8-VM-in -j DROP
            """)
        #expect(EbtablesPlanner.plan(desired: desired, kernel: kernel) == [
            "-N i-2-9-VM-in",
            "-N i-2-9-VM-in-src",
            "-A i-2-9-VM-in -j i-2-9-VM-in-src",
            "-A i-2-9-VM-in-src -j DROP",
            "-D PREROUTING -i vnet8 -j i-2-8-VM-in",
            "-A PREROUTING -i vnet9 -j i-2-9-VM-in",
            "-F i-2-8-VM-in",
            "-X i-2-8-VM-in",
        ])
        var same = KernelEbtablesState(chains: [:])
        same.chains = ["PREROUTING": ["-i vnet9 -j i-2-9-VM-in"], "i-2-9-VM-in": ["-j i-2-9-VM-in-src"], "i-2-9-VM-in-src": ["-j DROP"]]
        #expect(EbtablesPlanner.plan(desired: desired, kernel: same).isEmpty)
    }

    /// Chains known only to exist (a destroy does not list what it deletes
    /// whole) are flushed and deleted like listed ones; a wanted chain whose
    /// rules were not read is rewritten.
    @Test func unlistedChainsAreDeletedWholeOrRewritten() {
        let kernel = KernelEbtablesState(chains: ["PREROUTING": ["-i vnet8 -j i-2-8-VM-in"], "i-2-8-VM-in": ["-j i-2-8-VM-in-src"]],
                                         unlisted: ["i-2-8-VM-in-src"])
        #expect(EbtablesPlanner.plan(desired: EbtablesTable(), kernel: kernel, scope: .vm(try! VMName("i-2-8-VM"))) == [
            "-D PREROUTING -i vnet8 -j i-2-8-VM-in",
            "-F i-2-8-VM-in",
            "-F i-2-8-VM-in-src",
            "-X i-2-8-VM-in",
            "-X i-2-8-VM-in-src",
        ])
        var desired = EbtablesTable()
        desired.chains["i-2-8-VM-in-src"] = [EbtablesRule(target: .drop)]
        #expect(EbtablesPlanner.plan(desired: desired, kernel: kernel, scope: .vm(try! VMName("i-2-8-VM"))).prefix(2)
            == ["-F i-2-8-VM-in-src", "-A i-2-8-VM-in-src -j DROP"])
    }

    /// A host run that finds the table fresh writes it whole (flushing);
    /// any content, a changed policy or a VM scope takes the batch.
    @Test func aFreshTableIsWrittenWhole() {
        var desired = EbtablesTable()
        desired.chains["i-2-9-VM-in"] = [EbtablesRule(target: .drop)]
        let fresh = KernelEbtablesState.parseSave("*nat\n:PREROUTING ACCEPT\n:OUTPUT ACCEPT\n:POSTROUTING ACCEPT\n")
        #expect(EbtablesPlanner.wholeTable(desired: desired, kernel: fresh, scope: .host) == EbtablesSaveFormat.text(desired))
        #expect(EbtablesPlanner.wholeTable(desired: desired, kernel: fresh, scope: .vm(try! VMName("i-2-9-VM"))) == nil)
        for used in ["*nat\n:PREROUTING DROP\n", "*nat\n:PREROUTING ACCEPT\n-A PREROUTING -i eth9 -j ACCEPT\n",
                     "*nat\n:PREROUTING ACCEPT\n:FOREIGN ACCEPT\n"] {
            #expect(EbtablesPlanner.wholeTable(desired: desired, kernel: KernelEbtablesState.parseSave(used), scope: .host) == nil, "\(used)")
        }
    }
}
