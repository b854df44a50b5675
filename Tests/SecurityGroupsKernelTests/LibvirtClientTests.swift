import Foundation
import Testing
import SecurityGroupsKernel

/// libvirt through its C API against libvirt's own test driver.
@Suite struct LibvirtClientTests {
    static let uri = "test://" + URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/domains.xml").path

    @Test func listsDomainsWithStateAndID() throws {
        let client = try LibvirtClient(uri: Self.uri)
        let domains = try client.domains().sorted { $0.name < $1.name }
        #expect(domains.map(\.name) == ["i-2-7-VM", "i-2-8-VM", "r-5-VM"])
        #expect(domains.map(\.state) == [.running, .paused, .other(5)])
        #expect(domains[0].id != nil && domains[1].id != nil)
        #expect(domains[2].id == nil)
    }

    /// The test driver renames every interface target to testnetN; the
    /// bridge and MAC come through as written.
    @Test func readsInterfacesInDeviceOrder() throws {
        let client = try LibvirtClient(uri: Self.uri)
        let interfaces = try #require(try client.interfaces(of: "i-2-7-VM"))
        #expect(interfaces.map(\.bridge) == ["cloudbr0", "cloudbr1"])
        #expect(interfaces.map(\.mac) == ["02:00:00:00:00:07", "02:00:00:00:01:07"])
        #expect(interfaces.allSatisfy { $0.vif?.hasPrefix("testnet") == true || $0.vif?.hasPrefix("vnet") == true })
        #expect(try client.interfaces(of: "r-5-VM")?.first?.mac == "0e:00:a9:fe:00:05")
        #expect(try client.interfaces(of: "i-9-9-VM") == nil)
    }

    @Test func looksUpOneDomain() throws {
        let client = try LibvirtClient(uri: Self.uri)
        #expect(try client.domain(named: "i-2-8-VM")?.state == .paused)
        #expect(try client.domain(named: "r-5-VM")?.id == nil)
        #expect(try client.domain(named: "i-9-9-VM") == nil)
    }

    @Test func connectionErrorsAreReturned() {
        #expect(throws: NetfilterError.self) { _ = try LibvirtClient(uri: "test:///nonexistent/domains.xml") }
    }
}
