private import Glibc
import Foundation
import SecurityGroupsCore

/// Whether this kernel offers legacy x_tables, asked the way libiptc asks
/// (`IPT_SO_GET_INFO` on a raw socket) without reading a table.
enum LegacyXtables {
    /// nil when the family's filter table answers, else the kernel's reason.
    static func unavailable(_ family: AddressFamily) -> String? {
        let (domain, level) = family == .ipv4 ? (AF_INET, Int32(IPPROTO_IP)) : (AF_INET6, Int32(IPPROTO_IPV6))
        let descriptor = socket(domain, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        defer { close(descriptor) }
        // struct ipt_getinfo / ip6t_getinfo: name[32], valid_hooks, hook_entry[5], underflow[5], num_entries, size.
        var info = [UInt8](repeating: 0, count: 84)
        for (index, byte) in "filter".utf8.enumerated() { info[index] = byte }
        var length = socklen_t(info.count)
        let getInfo: Int32 = 64                                   // IPT_SO_GET_INFO, IP6T_SO_GET_INFO
        guard getsockopt(descriptor, level, getInfo, &info, &length) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }
}

extension LegacyXtables {
    /// Whether the family's table exists in this network namespace
    /// (`/proc/net/ip_tables_names`), asked without making it.
    static func tableExists(_ family: AddressFamily, _ table: String) -> Bool {
        let path = family == .ipv4 ? "/proc/net/ip_tables_names" : "/proc/net/ip6_tables_names"
        guard let names = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        return names.split(separator: "\n").contains { $0 == table }
    }
}
