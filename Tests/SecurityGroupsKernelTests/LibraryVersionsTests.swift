import Foundation
import Testing
import SecurityGroupsCore
import SecurityGroupsKernel

/// The C shims link against the real libraries and call into them.
@Suite struct LibraryVersionsTests {
    @Test func librariesAnswer() {
        let versions = LibraryVersions()
        #expect(versions.xtables.hasPrefix("libxtables.so."))
        #expect(versions.ipsetProtocol == 7)
        #expect(versions.ipsetUsable)
        #expect(versions.libvirt?.split(separator: ".").count == 3)
    }

    @Test func iptcErrorText() {
        #expect(LibraryVersions.iptcMessage(errno: ENOENT, family: .ipv4) == "No chain/target/match by that name")
        #expect(LibraryVersions.iptcMessage(errno: ENOENT, family: .ipv6) == "No chain/target/match by that name")
    }
}
