import Foundation
import Logging

/// Appends `time - message` lines to the agent log file, like the script's
/// logging: opened `O_APPEND` and one write per line, so the lines of
/// commands running at the same time never overwrite each other. A log that
/// cannot be written is silently skipped: logging must never fail a command.
struct FileLogHandler: LogHandler {
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]
    private let handle: FileHandle?

    init(path: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        handle = descriptor >= 0 ? FileHandle(fileDescriptor: descriptor, closeOnDealloc: true) : nil
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        try? handle?.write(contentsOf: Data("\(Self.timestamp()) - \(event.message)\n".utf8))
    }

    /// Local time as the script's log prints it, `2026-11-27 09:40:03,182`
    /// (strftime, not DateFormatter: that costs milliseconds per process).
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let length = strftime(&text, text.count, "%Y-%m-%d %H:%M:%S", &parts)
        let millis = String(now.tv_nsec / 1_000_000)
        return String(decoding: text[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            + "," + String(repeating: "0", count: 3 - millis.count) + millis
    }
}
