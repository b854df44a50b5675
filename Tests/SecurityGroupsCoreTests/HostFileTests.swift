import Foundation
import Testing
@testable import SecurityGroupsCore

@Suite struct HostFileTests {
    private func error(_ json: String) -> String? {
        do {
            _ = try HostFile.decode(Data(json.utf8))
            return nil
        } catch {
            return error.description
        }
    }

    private let bridges = #""bridges": [{"name": "cloudbr0", "uplink": "eth0"}]"#

    @Test func roundTrips() throws {
        for scenario in GoldenFixtures.scenarios {
            let host = try GoldenFixtures.host(scenario)
            #expect(try HostFile.decode(HostFile.encode(host)) == host)
        }
    }

    @Test func errorsNameThePath() {
        #expect(error("{")?.hasPrefix("invalid host file '': not a valid host document: ") == true)
        #expect(error(#"{"vms": []}"#) == "invalid host file '': not a valid host document: missing key .bridges")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr0", "mac": "02:00:00:00:00:7"}]}]}"#)
            == "invalid vms[0].nics[0].mac '02:00:00:00:00:7': expected six hex octets like 02:00:0a:01:00:07")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr1", "mac": "02:00:00:00:00:07"}]}]}"#)
            == "invalid vms[0].nics[0].bridge 'cloudbr1': not listed under bridges")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr0", "mac": "02:00:00:00:00:07", "ipv4": "2001:db8::1"}]}]}"#)
            == "invalid vms[0].nics[0].ipv4 '2001:db8::1': an IPv6 address where IPv4 is expected")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr0", "mac": "02:00:00:00:00:07"}], "rules": "I:tcp;22;22;0.0.0.0/0,"}]}"#)
            == "invalid vms[0].rules 'I:tcp;22;22;0.0.0.0/0,': rule 1 'I:tcp;22;22;0.0.0.0/0,' does not end in NEXT;")
        #expect(error(#"{\#(bridges), "vms": [{"name": "r-5-VM", "nics": [], "rules": ""}]}"#)
            == "invalid vms[0].rules '': system VMs take no security group rules")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr0"}]}]}"#)
            == "invalid vms[0].nics[0].mac '': a guest NIC needs its MAC address")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": []}]}"#)
            == "invalid vms[0].nics '': a guest needs at least one NIC")
        #expect(error(#"{\#(bridges), "vms": [{"name": "i-2-7-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr0", "mac": "02:00:00:00:00:07"}]}, {"name": "i-2-8-VM", "nics": [{"vif": "vnet7", "bridge": "cloudbr0", "mac": "02:00:00:00:00:08"}]}]}"#)
            == "invalid vms[1].nics[0].vif 'vnet7': vif used by another NIC")
        #expect(error(#"{"bridges": [{"name": "cloudbr0"}, {"name": "cloudbr0"}], "vms": []}"#)
            == "invalid bridges[1].name 'cloudbr0': bridge listed twice")
        #expect(error(#"{"bridges": [{"name": "cloudbr0", "uplink": "eth0; reboot"}], "vms": []}"#)
            == "invalid bridges[0].uplink 'eth0; reboot': only letters, digits, '-', '_' and '.' are allowed")
    }
}
