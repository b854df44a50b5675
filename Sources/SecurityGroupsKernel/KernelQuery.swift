public import SecurityGroupsCore

/// Questions about what the kernel holds for one VM, for the agent commands.
public enum KernelQuery {
    /// Whether a bridge chain already sends `vif` into the VM's default
    /// chain (IPv4): the script's test for "default rules are programmed".
    public static func hasDefaultRules(_ vm: VMName, vif: String) throws(NetfilterError) -> Bool {
        var codec = RuleCodec()
        let table = try IPTablesHandle(family: .ipv4, table: .filter).read(codec: &codec, scope: .vm(vm))
        let target = Target.jump(NetfilterNames(vm).defaultChain)
        return table.chains.contains { chain, rules in
            chain.hasPrefix("BF-") && chain.hasSuffix("-IN") && rules.contains { rule in
                guard case .known(let known) = rule, known.target == target else { return false }
                return known.matches.contains { if case .physdev(let p) = $0 { p.inPort == vif } else { false } }
            }
        }
    }
}
