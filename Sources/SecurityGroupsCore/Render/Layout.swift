/// Which ruleset the renderer produces.
public enum Layout: String, Sendable, CaseIterable {
    /// Exactly what `security_group.py` leaves in the kernel.
    case classic
    /// `classic`, plus conntrack exemption for VMs open in both directions
    /// (the `cs_notrack*` sets and raw-table NOTRACK rules), and no
    /// `--state NEW` on security group allow rules.
    case notrack
}
