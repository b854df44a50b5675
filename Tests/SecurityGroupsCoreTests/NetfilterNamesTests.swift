import Testing
@testable import SecurityGroupsCore

/// The names of a VM's kernel objects at each limit: iptables chains 28
/// characters, ipset 31, ebtables-nft restore and jumps 28.
@Suite struct NetfilterNamesTests {
    private func names(_ name: String) throws -> NetfilterNames { NetfilterNames(try VMName(name)) }

    private func allFit(_ names: NetfilterNames) -> Bool {
        [names.vmChain, names.egressChain, names.defaultChain].allSatisfy { $0.count <= 28 }
            && [names.ipv4Set, names.ipv6Set].allSatisfy { $0.count <= 31 }
            && names.ebtablesChains.allSatisfy { $0.count <= 28 }
    }

    @Test func upTo20CharactersTheScriptsNames() throws {
        let name = "i-2-7-abcdefghijklmn"                    // 20
        let ours = try names(name)
        #expect(ours == NetfilterNames.script(try VMName(name)))
        #expect(ours.vmChain == name && ours.egressChain == name + "-eg" && ours.defaultChain == "i-2-7-def")
        #expect(ours.ipv4Set == name && ours.ipv6Set == name + "-6")
        #expect(ours.ebtablesOutDestination == name + "-out-dst" && ours.ebtablesOutDestination.count == 28)
        #expect(allFit(ours))
        #expect(try names("i-2-7-VM").defaultChain == "i-2-7-def")
        #expect(try names("i-2-7-web-01").defaultChain == "i-2-7-web-def")
    }

    /// Pinned (the hashes checked with an independent FNV-1a): the short
    /// form must not change between releases, or a new release would not
    /// find the chains an older one made.
    @Test func from21CharactersTheShortForm() throws {
        let name = "i-2-7-abcdefghijklmno"                   // 21
        #expect(NetfilterNames.shortForm("i-2-7-abcdefghijklmno") == "i-2-7-abc-fbba2bc2-L")
        #expect(NetfilterNames.shortForm("i-2-7-abcdefghijklmnp") == "i-2-7-abc-eeba174b-L")
        let ours = try names(name)
        #expect(ours.vmChain == "i-2-7-abc-fbba2bc2-L" && ours.egressChain == "i-2-7-abc-fbba2bc2-L-eg")
        #expect(ours.defaultChain == "i-2-7-abc-fbba2bc2-def")
        #expect(ours.ipv4Set == "i-2-7-abc-fbba2bc2-L" && ours.ipv6Set == "i-2-7-abc-fbba2bc2-L-6")
        #expect(ours.ebtablesOutDestination == "i-2-7-abc-fbba2bc2-L-out-dst")
        #expect(allFit(ours))
    }

    /// The longest name CloudStack builds: `i-`, two 19-digit ids and a
    /// 63-character host name (`vm.instancename.flag`).
    @Test func theLongestNameTheAgentSends() throws {
        let name = "i-9223372036854775807-9223372036854775807-" + String(repeating: "h", count: 63)
        #expect(name.count == 105)
        let ours = try names(name)
        #expect(allFit(ours))
        #expect(ours.vmChain.hasPrefix("i-9223372-") && ours.vmChain.hasSuffix("-L"))
        #expect(try names(name + "x") != ours)
    }

    /// A trailing `-` of the cut is dropped, so every part stays non-empty.
    @Test func shortFormHasNoEmptyPart() throws {
        let short = NetfilterNames.shortForm("i-22-777-web-server-01")
        #expect(short == "i-22-777-c0c8d656-L")
        #expect(try VMName(short).kind == .user)
    }

    /// A short form is a VM name with the same names: a chain found in the
    /// kernel (cleanup_rules) leads back to all the VM's objects.
    @Test func shortFormLeadsBackToTheSameNames() throws {
        for name in ["i-2-7-abcdefghijklmnopqrstuvwxyz", "i-22-777-web-server-01", "r-1234-some-long-instance-name"] {
            let short = try VMName(NetfilterNames.shortForm(name))
            #expect(NetfilterNames(short) == (try names(name)))
        }
    }

    /// What the script named a long name's objects, to find and remove them.
    @Test func theScriptsNamesOfALongName() throws {
        let script = NetfilterNames.script(try VMName("i-2-7-abcdefghijklmnopqrstuvwxyz"))
        #expect(script.vmChain == "i-2-7-abcdefghijklmnopqr" && script.defaultChain == "i-2-7-def")
        #expect(script.ipv4Set.count == 30 && script.ebtablesBase == "i-2-7-abcdefghijklmnop")
    }
}
