/// The rule log the management server's sync reads through
/// `get_rule_logs_for_vms`: `<run_dir>/<vm>.log`, one line
/// `vm,vmid,vmip,domid,signature,seqno`, exactly as the script writes it.
public struct RuleLog: Equatable, Sendable {
    public var vmName: String
    public var vmID: String
    public var vmIP: String
    public var domainID: String
    public var signature: String
    public var sequence: String

    public init(vmName: String, vmID: String, vmIP: String, domainID: String, signature: String, sequence: String) {
        self.vmName = vmName
        self.vmID = vmID
        self.vmIP = vmIP
        self.domainID = domainID
        self.signature = signature
        self.sequence = sequence
    }

    /// The file's content.
    public var line: String {
        [vmName, vmID, vmIP, domainID, signature, sequence].joined(separator: ",") + "\n"
    }

    /// The first line of a log file; nil when it is not six fields.
    public init?(parsing text: String) {
        let first = text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        let fields = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 6 else { return nil }
        self.init(vmName: fields[0], vmID: fields[1], vmIP: fields[2], domainID: fields[3], signature: fields[4], sequence: fields[5])
    }

    /// `<vm>.ip`: `vm,secondary-ips-as-passed,vmid`.
    public static func secondaryIPLine(vmName: String, secondaryIPs: String, vmID: String) -> String {
        [vmName, secondaryIPs, vmID].joined(separator: ",") + "\n"
    }
}
