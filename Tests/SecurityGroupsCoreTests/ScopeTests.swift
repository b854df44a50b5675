import Testing
import SecurityGroupsCore

/// What a scope reads: a few VMs' sets and ebtables chains by name; the
/// whole host, or many VMs, everything at once.
@Suite struct ScopeTests {
    @Test func fewVMsReadTheirOwnObjectsManyReadEverything() throws {
        let few = Scope.vms(Set(try (1...8).map { try VMName("i-2-\($0)-VM") }), vifs: [])
        #expect(few.setNames()?.count == 8 * 2 + NetfilterNames.notrackSets.count)
        #expect(few.ebtablesChainNames()?.prefix(2) == ["PREROUTING", "POSTROUTING"])
        let many = Scope.vms(Set(try (1...9).map { try VMName("i-2-\($0)-VM") }), vifs: [])
        #expect(many.setNames() == nil && many.ebtablesChainNames() == nil)
        #expect(Scope.host.setNames() == nil && Scope.host.ebtablesChainNames() == nil)
        // Ownership does not change with how much is read.
        #expect(many.ownsEbtablesChain("i-2-9-VM-in") && !many.ownsEbtablesChain("i-2-10-VM-in"))
        #expect(many.ownsWholeSet("i-2-9-VM") && !many.ownsWholeSet("i-2-10-VM"))
    }
}
