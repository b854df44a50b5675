private import Glibc

/// A program started with arguments and standard input, without a shell
/// (posix_spawn, waitpid: no run loop). `finish` waits and returns its
/// standard output; a non-zero exit is an error with its first stderr line.
public final class RunningTool {
    private let program: String
    private let operation: String
    private let pid: pid_t
    private let stdout: TemporaryFile
    private let stderr: TemporaryFile

    public init(_ program: String, _ arguments: [String], input: String = "", operation: String) throws(NetfilterError) {
        self.program = program
        self.operation = operation
        // Unlinked temporary files: no pipe can fill up and block either side.
        guard let stdin = TemporaryFile(contents: input), let stdout = TemporaryFile(contents: ""),
              let stderr = TemporaryFile(contents: "") else {
            let code = errno
            throw NetfilterError(operation: operation, object: program,
                                 reason: "cannot create a temporary file: \(String(cString: strerror(code)))", errno: code)
        }
        self.stdout = stdout
        self.stderr = stderr
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin.descriptor, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout.descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr.descriptor, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw NetfilterError(operation: operation, object: program, reason: "cannot start: \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
    }

    /// Runs the program to its end and returns its standard output.
    public static func run(_ program: String, _ arguments: [String], input: String = "", operation: String) throws(NetfilterError) -> String {
        try RunningTool(program, arguments, input: input, operation: operation).finish()
    }

    public func finish() throws(NetfilterError) -> String {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            let code = errno
            guard code == EINTR else {
                throw NetfilterError(operation: operation, object: program, reason: "waitpid: \(String(cString: strerror(code)))", errno: code)
            }
        }
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            let first = stderr.read().split(separator: "\n").first.map(String.init)
            throw NetfilterError(operation: operation, object: program,
                                 reason: first ?? (exited ? "exit status \(code)" : "killed by signal \(status & 0x7f)"))
        }
        return stdout.read()
    }
}

/// A file that is unlinked at once and lives as long as its descriptor.
private final class TemporaryFile {
    let descriptor: Int32

    init?(contents: String) {
        var template = Array("/tmp/security-groups-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { return nil }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.descriptor = descriptor
        var text = contents
        let complete = text.withUTF8 { bytes in
            var written = 0
            while written < bytes.count {
                let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                guard result > 0 else { return false }
                written += result
            }
            return true
        }
        guard complete else { close(descriptor); return nil }
        lseek(descriptor, 0, SEEK_SET)
    }

    deinit { close(descriptor) }

    /// The whole file, from the start.
    func read() -> String {
        lseek(descriptor, 0, SEEK_SET)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
