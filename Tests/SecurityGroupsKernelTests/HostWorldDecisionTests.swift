import Testing
import SecurityGroupsKernel

/// Which netfilter each setting programs on each kind of host (no kernel:
/// the facts are given). The namespace suites (HostWorldTests) check the
/// facts are read right and the refusals change nothing.
@Suite struct HostWorldDecisionTests {
    static let script = ["ip filter BF-cloudbr0"], ours = ["iptables filter BF-cloudbr0"]

    static func world(nft: [String] = [], legacy: [String] = [], legacyMissing: Bool = false, tool: String? = "xtables-nft-multi") -> HostWorld {
        HostWorld(nfTablesChains: nft, legacyChains: legacy, legacyUnavailable: legacyMissing ? ["ip_tables: Protocol not available"] : [],
                  iptablesTool: tool)
    }

    @Test func autoFollowsTheRulesThenTheHostsIptables() {
        #expect(Self.world(nft: Self.script).decide(.auto) == .use(.nftables))
        #expect(Self.world(legacy: Self.ours).decide(.auto) == .use(.legacy))
        #expect(Self.world(legacy: Self.ours, tool: "xtables-nft-multi").decide(.auto) == .use(.legacy))
        #expect(Self.world(tool: "xtables-nft-multi").decide(.auto) == .use(.nftables))
        #expect(Self.world(tool: "xtables-legacy-multi").decide(.auto) == .use(.legacy))
        #expect(Self.world(tool: nil).decide(.auto) == .use(.legacy))
        #expect(Self.world(legacyMissing: true, tool: "xtables-legacy-multi").decide(.auto) == .use(.nftables))
    }

    @Test func neverASecondRuleSet() {
        guard case .refuse(let both) = Self.world(nft: Self.script, legacy: Self.ours).decide(.auto) else {
            Issue.record("rules in both worlds were not refused")
            return
        }
        #expect(both.hasPrefix("CloudStack's rules on this host are in both nf_tables and legacy x_tables (2 chains, "))
        guard case .refuse(let legacy) = Self.world(nft: Self.script).decide(.legacy) else {
            Issue.record("netfilter = legacy beside nf_tables rules was not refused")
            return
        }
        #expect(legacy.contains("in nf_tables (1 chain, e.g. ip filter BF-cloudbr0)") && legacy.contains("set netfilter = auto"))
        guard case .refuse(let nftables) = Self.world(legacy: Self.ours).decide(.nftables) else {
            Issue.record("netfilter = nftables beside legacy rules was not refused")
            return
        }
        #expect(nftables.contains("in legacy x_tables (1 chain, e.g. iptables filter BF-cloudbr0)"))
        #expect(Self.world(nft: Self.script).decide(.legacy, allowNFTables: true) == .use(.legacy))
        #expect(Self.world(nft: Self.script).decide(.nftables) == .use(.nftables))
    }

    @Test func legacyNeedsLegacyXtables() {
        guard case .refuse(let reason) = Self.world(legacyMissing: true).decide(.legacy) else {
            Issue.record("netfilter = legacy without legacy x_tables was not refused")
            return
        }
        #expect(reason.hasPrefix("this kernel has no legacy x_tables (ip_tables: Protocol not available)"))
        #expect(Self.world(legacyMissing: true).decide(.nftables) == .use(.nftables))
    }
}
