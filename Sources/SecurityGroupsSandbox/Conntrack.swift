import Foundation
import Glibc
public import SecurityGroupsCore

/// A namespace's connection-tracking table, read from procfs in the
/// namespace itself (`/proc/thread-self`, since only our thread joins it).
public enum Conntrack {
    /// The entries whose original or reply direction names one of `addresses`.
    public static func entries(in namespace: String, involving addresses: Set<IPAddress>) throws -> Int {
        try lines(in: namespace).filter { line in
            line.split(separator: " ").contains { word in
                guard word.hasPrefix("src=") || word.hasPrefix("dst="), let address = IPAddress(String(word.dropFirst(4)))
                else { return false }
                return addresses.contains(address)
            }
        }.count
    }

    /// The entries of the probe's flow from `source`: its protocol, addresses
    /// and (tcp, udp) destination port in the original direction.
    public static func entries(in namespace: String, of probe: Probe, from source: IPAddress) throws -> Int {
        let protocolName = switch probe.kind {
        case .tcp: "tcp"
        case .udp: "udp"
        case .icmp: probe.destination.family == .ipv4 ? "icmp" : "icmpv6"
        }
        return try lines(in: namespace).filter { line in
            let words = line.split(separator: " ")
            guard words.count > 2, words[2] == protocolName else { return false }
            func first(_ key: String) -> String? {
                words.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
            }
            guard first("src").flatMap(IPAddress.init) == source, first("dst").flatMap(IPAddress.init) == probe.destination
            else { return false }
            return probe.kind == .icmp || first("dport") == "\(probe.port)"
        }.count
    }

    /// All entries in use (`nf_conntrack_count`).
    public static func count(in namespace: String) throws -> Int {
        try NamespaceThread.run(in: namespace) {
            let path = "/proc/sys/net/netfilter/nf_conntrack_count"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            guard let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ConntrackUnreadable(path: path, namespace: namespace, code: EINVAL)
            }
            return count
        }
    }

    /// The table as procfs prints it, one entry per line.
    public static func listing(in namespace: String) throws -> [String] {
        try lines(in: namespace).map(String.init)
    }

    /// The table that cannot be read is an error, never "no entries": a
    /// check that counts none would pass for the wrong reason.
    private static func lines(in namespace: String) throws -> [Substring] {
        try NamespaceThread.run(in: namespace) {
            // Read to the end: procfs gives a page per read, and Foundation's
            // file reading stops after the first.
            let path = "/proc/thread-self/net/nf_conntrack"
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw ConntrackUnreadable(path: path, namespace: namespace, code: errno) }
            defer { close(descriptor) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 { throw ConntrackUnreadable(path: path, namespace: namespace, code: errno) }
                guard count > 0 else { break }
                bytes += buffer[..<count]
            }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        }
    }
}

/// The conntrack table of a namespace could not be read.
public struct ConntrackUnreadable: Error, CustomStringConvertible {
    public let path: String
    public let namespace: String
    public let code: Int32
    public var description: String { "cannot read \(path) in \(namespace): \(String(cString: strerror(code)))" }
}
