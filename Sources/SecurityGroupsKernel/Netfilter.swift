/// Which netfilter holds the iptables tables we write: legacy x_tables
/// (libiptc), or nf_tables in the tables iptables-nft keeps (`ip filter`, …).
public enum Netfilter: String, Sendable, CaseIterable {
    case legacy
    case nftables
}

/// The `netfilter` setting: one of the two, or `auto`, which takes the one
/// CloudStack's rules are already in, else the one the host's `iptables`
/// command writes (`HostWorld.decide`).
public enum NetfilterSetting: String, Sendable, CaseIterable {
    case auto
    case legacy
    case nftables
}
