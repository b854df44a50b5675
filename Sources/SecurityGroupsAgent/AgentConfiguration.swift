public import SecurityGroupsCore
public import SecurityGroupsKernel

/// Settings of the agent commands, from the file named by
/// `SECURITY_GROUPS_CONFIG` (default `/etc/cloudstack/security-groups.conf`):
/// `key = value` lines, `#` comments. A missing file means the defaults;
/// unknown keys and bad values are errors.
public struct AgentConfiguration: Equatable, Sendable {
    public static let defaultPath = "/etc/cloudstack/security-groups.conf"

    /// The layout the file sets; when it sets none (`layoutIsSet` false),
    /// the agent takes the host's default (`HostBackend.defaultLayout`).
    public var layout: Layout = .notrack
    public var layoutIsSet = false
    /// Where the iptables tables are programmed: legacy x_tables, nf_tables
    /// (as iptables-nft keeps them), or `auto` (where CloudStack's rules
    /// are, else where the host's `iptables` writes).
    public var netfilter: NetfilterSetting = .auto
    public var libvirtURI = "qemu:///system"
    /// Where the rule logs live (`<vm>.log`, `<vm>.ip`), as for the script.
    public var runDirectory = "/var/run/cloud"
    /// One desired-state file per VM.
    public var stateDirectory = "/var/lib/cloudstack/security-groups"
    /// The script's lock, so both can run side by side during a migration.
    public var lockFile = "/var/lock/cloudstack_security_group.lock"
    public var logFile = "/var/log/cloudstack/agent/security_group.log"

    public init() {}

    /// Parses the file's text; errors name the line.
    public init(parsing text: String, path: String) throws(InputError) {
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let field = "\(path):\(number + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw InputError(field: field, value: String(line), reason: "expected key = value")
            }
            let key = line[..<equals].trimmingWhitespace()
            let value = String(line[line.index(after: equals)...].trimmingWhitespace())
            func absolutePath() throws(InputError) -> String {
                guard value.hasPrefix("/"), !value.contains("\0") else {
                    throw InputError(field: "\(field) \(key)", value: value, reason: "must be an absolute path")
                }
                return value
            }
            switch key {
            case "layout":
                guard let layout = Layout(rawValue: value) else {
                    throw InputError(field: "\(field) layout", value: value, reason: "must be notrack, classic or native")
                }
                self.layout = layout
                layoutIsSet = true
            case "netfilter":
                guard let netfilter = NetfilterSetting(rawValue: value) else {
                    throw InputError(field: "\(field) netfilter", value: value, reason: "must be auto, legacy or nftables")
                }
                self.netfilter = netfilter
            case "libvirt_uri":
                guard !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\t" }) else {
                    throw InputError(field: "\(field) libvirt_uri", value: value, reason: "must be a libvirt URI")
                }
                libvirtURI = value
            case "run_dir": runDirectory = try absolutePath()
            case "state_dir": stateDirectory = try absolutePath()
            case "lock_file": lockFile = try absolutePath()
            case "log_file": logFile = try absolutePath()
            default:
                throw InputError(field: field, value: String(key), reason: "unknown setting")
            }
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return text
    }
}
