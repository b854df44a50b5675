import Testing
import SecurityGroupsAgent
import SecurityGroupsCore

/// The script's argv, parsed as its argparse parser parses it.
@Suite struct AgentArgumentsTests {
    @Test func optionsTakeTheNextWordOrAnInlineValue() throws {
        let parsed = try AgentArguments(parsing: [
            "--vmname", "i-2-7-VM", "--vmip=10.1.0.7", "--action=-A", "--nicsecips", "0;", "--rules", "I:tcp;22;22;0.0.0.0/0,NEXT;",
        ])
        #expect(parsed.vmName == "i-2-7-VM" && parsed.vmIP == "10.1.0.7" && parsed.action == "-A")
        #expect(parsed.secondaryIPs == "0;" && parsed.rules == "I:tcp;22;22;0.0.0.0/0,NEXT;")
        #expect(!parsed.isFirstNIC && !parsed.check)
    }

    @Test func flagsPrefixesAndRepeats() throws {
        let parsed = try AgentArguments(parsing: ["--isFirstNic", "--vmn", "i-2-7-VM", "--check", "--seq", "1", "--seq", "2", "--vmid=", ])
        #expect(parsed.isFirstNIC && parsed.check && parsed.vmName == "i-2-7-VM")
        #expect(parsed.sequence == "2" && parsed.vmID == "")
    }

    @Test(arguments: [
        (["i-2-7-VM"], "invalid argument 'i-2-7-VM': not an option of security_group.py"),
        (["--bogus", "1"], "invalid argument '--bogus': not an option of security_group.py"),
        (["--vm", "x"], "invalid argument '--vm': ambiguous: --vmname, --vmip, --vmip6, --vmid, --vmmac"),
        (["--vmname"], "invalid vmname '': expected one argument"),
        (["--vmname", "--vmid", "7"], "invalid vmname '': expected one argument"),
        (["--check=yes"], "invalid argument '--check=yes': --check takes no value"),
        (["-h2"], "invalid argument '-h2': not an option of security_group.py"),
    ])
    func badArgvNamesTheWord(words: [String], message: String) {
        #expect(throws: InputError.self) { try AgentArguments(parsing: words) }
        do {
            _ = try AgentArguments(parsing: words)
        } catch {
            #expect(error.description == message)
        }
    }
}
