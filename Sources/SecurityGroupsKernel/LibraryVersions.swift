private import CIPSet
private import CIPTables
private import CLibvirt
public import SecurityGroupsCore

/// The system libraries the kernel backends are built on, as they report
/// themselves at run time.
public struct LibraryVersions: Sendable, CustomStringConvertible {
    /// libxtables/libiptc version string (XTABLES_VERSION), e.g. `libxtables.so.12`.
    public let xtables: String
    /// The ipset netlink protocol libipset speaks.
    public let ipsetProtocol: Int
    /// Whether a libipset handle could be opened and closed.
    public let ipsetUsable: Bool
    /// libvirt's version as `major.minor.release`, nil if it would not say.
    public let libvirt: String?

    public init() {
        xtables = String(cString: sg_xtables_version())
        ipsetProtocol = Int(sg_ipset_protocol())
        ipsetUsable = sg_ipset_probe() == 0
        let version = sg_virt_library_version()
        libvirt = version < 0 ? nil : "\(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000)"
    }

    /// libiptc's (or libip6tc's) text for an errno after a failed table operation.
    public static func iptcMessage(errno: Int32, family: AddressFamily) -> String {
        String(cString: family == .ipv6 ? sg_ip6tc_strerror(errno) : sg_iptc_strerror(errno))
    }

    public var description: String {
        "xtables \(xtables), ipset protocol \(ipsetProtocol)\(ipsetUsable ? "" : " (unusable)"), libvirt \(libvirt ?? "unknown")"
    }
}
