import Testing
import SecurityGroupsCore

/// What a scope reads: VMs' sets by name (up to 256 VMs) and their ebtables
/// chains by name (the backend saves the whole table when many exist); the
/// whole host, or very many VMs' sets, everything at once.
@Suite struct ScopeTests {
    @Test func vmsReadTheirOwnObjectsTheHostEverything() throws {
        let some = Scope.vms(Set(try (1...256).map { try VMName("i-2-\($0)-VM") }), vifs: [])
        #expect(some.setNames()?.count == 256 * 2 + NetfilterNames.notrackSets.count)
        #expect(some.ebtablesChainNames()?.prefix(2) == ["PREROUTING", "POSTROUTING"])
        let many = Scope.vms(Set(try (1...257).map { try VMName("i-2-\($0)-VM") }), vifs: [])
        #expect(many.setNames() == nil && many.ebtablesChainNames()?.contains("i-2-257-VM-in") == true)
        #expect(Scope.host.setNames() == nil && Scope.host.ebtablesChainNames() == nil)
        // Ownership does not change with how much is read.
        #expect(many.ownsEbtablesChain("i-2-9-VM-in") && !many.ownsEbtablesChain("i-2-300-VM-in"))
        #expect(many.ownsWholeSet("i-2-9-VM") && !many.ownsWholeSet("i-2-300-VM"))
    }
}
