import Foundation
import Testing
@testable import SecurityGroupsCore

/// VMs with the same rules share their chains in the `ip` and `ip6` tables
/// (`SharedChains`); each VM keeps a default chain of one rule per port and
/// carrier.
@Suite struct SharedChainsTests {
    /// VMs on one bridge, dual stack, with `rules` each.
    static func host(_ rules: [String]) throws -> HostState {
        let vms = rules.enumerated().map { index, text in
            let id = index + 7
            return """
                {"name": "i-2-\(id)-VM", "id": \(id), "rules": "\(text)", "nics": [{"vif": "vnet\(id)", "bridge": "cloudbr0",
                 "mac": "02:00:00:00:00:0\(id)", "ipv4": "10.1.0.\(id)", "ipv6": "2001:db8::\(id)"}]}
                """
        }
        let text = #"{"bridges": [{"name": "cloudbr0", "uplink": "eth0"}], "vms": ["# + vms.joined(separator: ",") + "]}"
        return try HostFile.decode(Data(text.utf8))
    }

    static let ssh = "I:tcp;22;22;0.0.0.0/0,::/0,NEXT;"

    @Test func vmsWithTheSameRulesJumpToTheSameChains() throws {
        let native = try NativeRuleset(Renderer.render(try Self.host([Self.ssh, Self.ssh, "I:tcp;80;80;0.0.0.0/0,NEXT;"]), layout: .native))
        for table in native.tables where table.family != .bridge {
            let stubs = ["i-2-7-def", "i-2-8-def", "i-2-9-def"].map { name in table.chains.first { $0.name == name }!.rules }
            // One rule per carrier, each the port's id and a jump to a shared chain.
            for rules in stubs {
                #expect(rules.count == 2)
                #expect(rules.allSatisfy { rule in
                    guard rule.count == 2, case .carrier = rule[0], case .verdict(.jump(let target)) = rule[1] else { return false }
                    return SharedChains.isShared(target)
                })
            }
            #expect(stubs[0].map { $0[1] } == stubs[1].map { $0[1] }, "same rules, same chains")
            #expect(stubs[0].map { $0[1] } != stubs[2].map { $0[1] }, "other rules, other chains")
            // No VM's chains but the default one; no port id in a shared chain.
            #expect(!table.chains.contains { ["i-2-7-VM", "i-2-7-VM-eg"].contains($0.name) })
            for chain in table.chains where SharedChains.isShared(chain.name) {
                #expect(!chain.rules.joined().contains { if case .carrier(_, let id, _) = $0 { id != 0 } else { false } }, "\(chain.name)")
            }
            let shared = table.chains.filter { SharedChains.isShared($0.name) }.map(\.name)
            #expect(Set(shared).count == shared.count)
        }
        // The ports' link-local addresses (DHCPv6) are looked up by port.
        let ipv6 = native.tables[1]
        #expect(ipv6.sets.filter { SharedChains.isOwnAddressSet($0.name) }.allSatisfy { $0.elements.count == 3 })
        #expect(!ipv6.text.contains("fe80::ff:fe00:7/128"))
    }

    /// Names do not depend on which ids the ports have: a VM's chains are
    /// found by name whatever the host around it.
    @Test func namesFollowContentNotPortIDs() throws {
        let host = try Self.host([Self.ssh, Self.ssh])
        let first = try NativeRuleset(Renderer.render(host, layout: .native), ports: PortIDs(ids: ["vnet7": 3, "vnet8": 4]))
        let second = try NativeRuleset(Renderer.render(host, layout: .native), ports: PortIDs(ids: ["vnet7": 40, "vnet8": 41]))
        for (left, right) in zip(first.tables, second.tables) where left.family != .bridge {
            #expect(left.chains.map(\.name).filter(SharedChains.isShared) == right.chains.map(\.name).filter(SharedChains.isShared))
        }
    }

    @Test func sha256OfKnownTexts() {
        func hex(_ text: String) -> String { SHA256.digest(text.utf8).map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined() }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                    == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
