import Foundation

/// What the host's network stack says about bridges, read from sysfs (no
/// `bridge` command, no shell).
enum HostInterfaces {
    /// The bridge's port to the physical network: like the script, the first
    /// port (by interface index) whose name does not start with `vnet`.
    static func uplink(of bridge: String, sysfs: String = "/sys/class/net") -> String? {
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: "\(sysfs)/\(bridge)/brif")) ?? []
        let candidates = ports.filter { !$0.hasPrefix("vnet") }.compactMap { port -> (Int, String)? in
            guard let text = try? String(contentsOfFile: "\(sysfs)/\(port)/ifindex", encoding: .utf8),
                  let index = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            return (index, port)
        }
        return candidates.min { $0.0 < $1.0 }?.1
    }
}
