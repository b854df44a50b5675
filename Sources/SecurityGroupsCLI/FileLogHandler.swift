import Foundation
import Logging

/// Appends `time - message` lines to the agent log file, like the script's
/// logging. A log that cannot be written is silently skipped: logging must
/// never fail a command.
struct FileLogHandler: LogHandler {
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]
    private let handle: FileHandle?

    init(path: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss,SSS"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        try? handle?.write(contentsOf: Data("\(formatter.string(from: Date())) - \(event.message)\n".utf8))
    }
}
