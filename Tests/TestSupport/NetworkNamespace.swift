import Foundation

/// A network namespace made for one test and always deleted, so tests never
/// touch the root namespace's iptables, ipset or ebtables.
public final class NetworkNamespace {
    public let name: String

    /// Creates the namespace, or returns nil after actually trying when this
    /// process may not (not root): the caller skips with that reason.
    public static func make(_ label: String) throws -> NetworkNamespace? {
        let name = "sgtest-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let result = try Tool.run("/usr/sbin/ip", ["netns", "add", name])
        if result.status != 0 {
            if getuid() != 0 { return nil }
            throw ToolError("ip netns add \(name) failed: \(result.stderr)")
        }
        return NetworkNamespace(name: name)
    }

    private init(name: String) { self.name = name }

    deinit {
        _ = try? Tool.run("/usr/sbin/ip", ["netns", "delete", name])
    }

    /// Runs a program inside the namespace; fails the test on a non-zero exit.
    @discardableResult
    public func run(_ program: String, _ arguments: [String] = [], input: String = "", environment: [String: String] = [:]) throws -> String {
        let result = try exec(program, arguments, input: input, environment: environment)
        guard result.status == 0 else {
            throw ToolError("\(program) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }
}

extension NetworkNamespace {
    /// Runs a program inside the namespace and returns its exit status and output.
    public func exec(_ program: String, _ arguments: [String] = [], input: String = "",
                     environment: [String: String] = [:]) throws -> Tool.Result {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let command = assignments.isEmpty ? [program] : ["/usr/bin/env"] + assignments + [program]
        return try Tool.run("/usr/sbin/ip", ["netns", "exec", name] + command + arguments, input: input)
    }
}

public struct ToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a program directly (no shell) and collects its output.
public enum Tool {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func run(_ program: String, _ arguments: [String], input: String = "") throws -> Result {
        // Temporary files rather than pipes: no thread juggling, no full-pipe deadlock.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sgtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["in", "out", "err"].map { directory.appendingPathComponent($0) }
        try Data(input.utf8).write(to: paths[0])
        for path in paths.dropFirst() { FileManager.default.createFile(atPath: path.path, contents: nil) }
        let handles = try paths.enumerated().map { index, path in
            index == 0 ? try FileHandle(forReadingFrom: path) : try FileHandle(forWritingTo: path)
        }
        defer { for handle in handles { try? handle.close() } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = handles[0]
        process.standardOutput = handles[1]
        process.standardError = handles[2]
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: paths[1], encoding: .utf8),
                      stderr: try String(contentsOf: paths[2], encoding: .utf8))
    }
}
