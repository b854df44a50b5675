import Foundation
import Testing
@testable import SecurityGroupsCore

/// Every argument the agent passes: good values parse, bad ones give the
/// exact one-line error naming the field.
@Suite struct AgentArgumentTests {
    private func error(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as InputError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func vmNames() throws {
        #expect(try VMName("i-2-7-VM").kind == .user)
        #expect(try VMName("i-12-345-MyCloud_1").kind == .user)
        #expect(try VMName("r-5-VM").kind == .system)
        #expect(try VMName("s-1-VM").kind == .system)
        #expect(try VMName("v-3-VM").kind == .system)
        #expect(error { _ = try VMName("") } == "invalid vmname '': must not be empty")
        let longest = "i-2-7-" + String(repeating: "a", count: 194)
        #expect(try VMName(longest).rawValue.count == 200)
        #expect(error { _ = try VMName(longest + "a") }
            == "invalid vmname '\((longest + "a").printableForError)': longer than 200 characters")
        #expect(error { _ = try VMName("i-2-7-VM;rm -rf /") }
            == "invalid vmname 'i-2-7-VM;rm -rf /': only letters, digits, '-', '_' and '.' are allowed")
        #expect(error { _ = try VMName("i-2-7-VM$(id)") }
            == "invalid vmname 'i-2-7-VM$(id)': only letters, digits, '-', '_' and '.' are allowed")
        #expect(error { _ = try VMName("x-2-7-VM") } == "invalid vmname 'x-2-7-VM': must start with i-, r-, s- or v-")
        #expect(error { _ = try VMName("i-2-VM") }
            == "invalid vmname 'i-2-VM': a guest name has the form i-<account>-<id>-<suffix>")
        #expect(error { _ = try VMName("i-a-7-VM") }
            == "invalid vmname 'i-a-7-VM': a guest name has the form i-<account>-<id>-<suffix>")
        #expect(error { _ = try VMName("i-2-7-") }
            == "invalid vmname 'i-2-7-': a guest name has the form i-<account>-<id>-<suffix>")
        #expect(error { _ = try VMName("r-x-VM") }
            == "invalid vmname 'r-x-VM': a system VM name has the form r-<id>-<suffix> (or s-, v-)")
        #expect(error { _ = try VMName("i-2-7-VM\n") }
            == "invalid vmname 'i-2-7-VM\\u{a}': only letters, digits, '-', '_' and '.' are allowed")
    }

    @Test func interfaceNames() throws {
        #expect(try InterfaceName("vnet7", field: "vif").rawValue == "vnet7")
        #expect(try InterfaceName("bond0.100", field: "brname").rawValue == "bond0.100")
        #expect(error { _ = try InterfaceName("", field: "vif") } == "invalid vif '': must not be empty")
        #expect(error { _ = try InterfaceName("vnet0123456789ab", field: "vif") }
            == "invalid vif 'vnet0123456789ab': longer than 15 characters")
        #expect(error { _ = try InterfaceName("vnet+", field: "vif") }
            == "invalid vif 'vnet+': only letters, digits, '-', '_' and '.' are allowed")
        #expect(error { _ = try InterfaceName("br0;ls", field: "brname") }
            == "invalid brname 'br0;ls': only letters, digits, '-', '_' and '.' are allowed")
        #expect(error { _ = try InterfaceName("..", field: "vif") }
            == "invalid vif '..': only letters, digits, '-', '_' and '.' are allowed")
        #expect(error { _ = try InterfaceName("a b", field: "privnic") }
            == "invalid privnic 'a b': only letters, digits, '-', '_' and '.' are allowed")
    }

    @Test func macAddresses() throws {
        #expect(try AgentArgument.mac("02:00:0A:01:00:07").description == "02:00:0a:01:00:07")
        let expected = "invalid vmmac '%@': expected six hex octets like 02:00:0a:01:00:07"
        for bad in ["", "02:00:00:00:07", "02:00:00:00:00:07:08", "2:0:0:0:0:7", "02-00-00-00-00-07",
                    "02:00:00:00:00:0g", "02:00:00:00:00:07 ", "02:00:00:00:00:07;id"] {
            #expect(error { _ = try AgentArgument.mac(bad) } == expected.replacingOccurrences(of: "%@", with: bad))
        }
        #expect(error { _ = try AgentArgument.mac("zz", field: "hostMacAddr") }
            == "invalid hostMacAddr 'zz': expected six hex octets like 02:00:0a:01:00:07")
    }

    @Test func linkLocalFromMAC() throws {
        #expect(try AgentArgument.mac("02:00:00:00:00:07").linkLocalIPv6.description == "fe80::ff:fe00:7")
        #expect(try AgentArgument.mac("02:00:00:00:01:07").linkLocalIPv6.description == "fe80::ff:fe00:107")
        #expect(try AgentArgument.mac("1e:00:b4:00:00:05").linkLocalIPv6.description == "fe80::1c00:b4ff:fe00:5")
    }

    @Test func ipv4Addresses() throws {
        #expect(try AgentArgument.ipv4("10.1.0.7").description == "10.1.0.7")
        #expect(error { _ = try AgentArgument.ipv4("") } == "invalid vmip '': not an IPv4 address")
        #expect(error { _ = try AgentArgument.ipv4("10.1.0.256") } == "invalid vmip '10.1.0.256': not an IPv4 address")
        #expect(error { _ = try AgentArgument.ipv4("10.1.0") } == "invalid vmip '10.1.0': not an IPv4 address")
        #expect(error { _ = try AgentArgument.ipv4("010.1.0.7") } == "invalid vmip '010.1.0.7': not an IPv4 address")
        #expect(error { _ = try AgentArgument.ipv4("10.1.0.7x") } == "invalid vmip '10.1.0.7x': not an IPv4 address")
        #expect(error { _ = try AgentArgument.ipv4("2001:db8::7") }
            == "invalid vmip '2001:db8::7': an IPv6 address where IPv4 is expected")
        #expect(error { _ = try AgentArgument.ipv4("10.1.0.1`reboot`", field: "dhcpSvr") }
            == "invalid dhcpSvr '10.1.0.1`reboot`': not an IPv4 address")
    }

    @Test func ipv6Addresses() throws {
        #expect(try AgentArgument.ipv6("2001:DB8:0:0:0:0:0:7").description == "2001:db8::7")
        #expect(try AgentArgument.ipv6("::").description == "::")
        #expect(try AgentArgument.ipv6("::1").description == "::1")
        #expect(try AgentArgument.ipv6("1:0:0:2:0:0:0:3").description == "1:0:0:2::3")
        #expect(try AgentArgument.ipv6("1:0:2:3:4:5:6:7").description == "1:0:2:3:4:5:6:7")
        #expect(try AgentArgument.ipv6("::ffff:10.1.0.7").description == "::ffff:10.1.0.7")
        #expect(try AgentArgument.ipv6("fe80::ff:fe00:7").description == "fe80::ff:fe00:7")
        #expect(error { _ = try AgentArgument.ipv6("10.1.0.7") }
            == "invalid vmip6 '10.1.0.7': an IPv4 address where IPv6 is expected")
        for bad in ["", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "2001:db8::g", "1:2:3:4:5:6:7::8"] {
            #expect(error { _ = try AgentArgument.ipv6(bad) } == "invalid vmip6 '\(bad)': not an IPv6 address")
        }
    }

    @Test func secondaryAddresses() throws {
        #expect(try AgentArgument.secondaryIPs("0;") == [])
        #expect(try AgentArgument.secondaryIPs("0") == [])
        #expect(try AgentArgument.secondaryIPs("10.1.0.71;2001:db8::71;").map(\.description) == ["10.1.0.71", "2001:db8::71"])
        #expect(try AgentArgument.secondaryIPs("10.1.0.99").map(\.description) == ["10.1.0.99"])
        #expect(try AgentArgument.secondaryIPs("10.1.0.99;10.1.0.99;").count == 1)
        #expect(try AgentArgument.secondaryIPs("") == [])
        #expect(error { _ = try AgentArgument.secondaryIPs("10.1.0.71;;") }
            == "invalid nicsecips '10.1.0.71;;': '' is not an IPv4 or IPv6 address")
        #expect(error { _ = try AgentArgument.secondaryIPs("10.1.0.71;x;") }
            == "invalid nicsecips '10.1.0.71;x;': 'x' is not an IPv4 or IPv6 address")
        #expect(error { _ = try AgentArgument.secondaryIPs("10.1.0.0/24;") }
            == "invalid nicsecips '10.1.0.0/24;': '10.1.0.0/24' is not an IPv4 or IPv6 address")
    }

    @Test func scalars() throws {
        #expect(try AgentArgument.vmID("7") == 7)
        #expect(error { _ = try AgentArgument.vmID("-7") } == "invalid vmid '-7': not a non-negative integer")
        #expect(error { _ = try AgentArgument.vmID("7 ") } == "invalid vmid '7 ': not a non-negative integer")
        #expect(error { _ = try AgentArgument.vmID("99999999999999999999") }
            == "invalid vmid '99999999999999999999': not a non-negative integer")
        #expect(try AgentArgument.signature("438a50a1784dbfeb6c2bac921d63a0b6") == "438a50a1784dbfeb6c2bac921d63a0b6")
        #expect(error { _ = try AgentArgument.signature("abc|def") } == "invalid sig 'abc|def': expected 1-64 letters, digits or '_'")
        #expect(error { _ = try AgentArgument.signature("") } == "invalid sig '': expected 1-64 letters, digits or '_'")
        let long = String(repeating: "a", count: 65)
        #expect(error { _ = try AgentArgument.signature(long) } == "invalid sig '\(long)': expected 1-64 letters, digits or '_'")
        #expect(try AgentArgument.sequenceNumber("12") == 12)
        #expect(try AgentArgument.sequenceNumber("-1") == -1)
        #expect(error { _ = try AgentArgument.sequenceNumber("-2") } == "invalid seq '-2': not an integer of -1 or more")
        #expect(error { _ = try AgentArgument.sequenceNumber("1a") } == "invalid seq '1a': not an integer of -1 or more")
        #expect(try AgentArgument.action("-A") == .add)
        #expect(try AgentArgument.action("-D") == .delete)
        #expect(error { _ = try AgentArgument.action("-I") } == "invalid action '-I': must be -A or -D")
    }
}
