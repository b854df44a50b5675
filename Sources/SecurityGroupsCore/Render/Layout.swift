/// Which ruleset the renderer produces.
public enum Layout: String, Sendable, CaseIterable {
    /// Exactly what `security_group.py` leaves in the kernel.
    case classic
    /// `classic`, plus conntrack exemption for VMs open in both directions
    /// (the `cs_notrack*` sets and raw-table NOTRACK rules), and no
    /// `--state NEW` on security group allow rules.
    case notrack
    /// `notrack`'s rules in nf_tables tables of our own (`NativeRuleset`),
    /// per-port dispatch by verdict map. Needs nf_tables.
    case native

    /// The layouts kept in the iptables, ip6tables and ebtables tables and
    /// ipset: the ones the agent's commands program.
    public static let iptablesLayouts: [Layout] = [.classic, .notrack]

    /// Whether the `notrack` additions are in (every layout but `classic`).
    public var exemptsOpenVMs: Bool { self != .classic }
}
