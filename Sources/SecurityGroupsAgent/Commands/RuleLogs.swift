import Foundation
import SecurityGroupsCore
import SecurityGroupsKernel

extension Agent {
    /// `;`-joined rule logs of the running guests, as the management server's sync reads them.
    func ruleLogs() throws -> String {
        let running = try host.domains().filter { $0.state == .running && $0.name.hasPrefix("i-") }
        return try running.map { domain -> String in
            guard let name = try? VMName(domain.name), let text = try Files.read(logPath(name, "log")) else { return "" }
            return RuleLog(parsing: text)?.line.trimmingCharacters(in: .newlines) ?? ""
        }.joined(separator: ";")
    }
}
