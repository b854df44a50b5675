import Foundation
import Glibc
import CGlibcExtensions

/// Small file operations with errors that name the file.
enum Files {
    struct Failure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var reason: String
        var description: String { "\(operation) \(path): \(reason)" }
    }

    /// Writes `contents` so that a reader (or a crash) sees the old file or
    /// the new one, never a mix: temporary file, fsync, rename, fsync of the
    /// directory (the fsyncs only when `durable`: what must survive a crash of the host).
    static func writeAtomically(_ contents: String, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw Failure(operation: "create", path: temporary, reason: lastError()) }
        guard writeAll(descriptor, Array(contents.utf8)) else {
            let reason = lastError()
            close(descriptor)
            unlink(temporary)
            throw Failure(operation: "write", path: temporary, reason: reason)
        }
        guard !durable || fsync(descriptor) == 0 else {
            let reason = lastError()
            close(descriptor)
            unlink(temporary)
            throw Failure(operation: "fsync", path: temporary, reason: reason)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = lastError()
            unlink(temporary)
            throw Failure(operation: "rename", path: path, reason: reason)
        }
        guard durable else { return }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Writes many files of one directory so that each is old or new, never
    /// a mix, with one flush for all: temporary files, one syncfs, renames,
    /// one fsync of the directory. For resync, which may rewrite thousands.
    static func writeAtomically(_ files: [(path: String, contents: String)], in directory: String) throws(Failure) {
        guard !files.isEmpty else { return }
        var temporaries: [String] = []
        defer { temporaries.forEach { unlink($0) } }
        var last: Int32 = -1
        defer { if last >= 0 { close(last) } }
        for file in files {
            let temporary = "\(directory)/.\((file.path as NSString).lastPathComponent).\(getpid()).tmp"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw Failure(operation: "create", path: temporary, reason: lastError()) }
            temporaries.append(temporary)
            guard writeAll(descriptor, Array(file.contents.utf8)) else {
                let reason = lastError()
                close(descriptor)
                throw Failure(operation: "write", path: temporary, reason: reason)
            }
            if last >= 0 { close(last) }
            last = descriptor
        }
        guard sg_syncfs(last) == 0 else { throw Failure(operation: "syncfs", path: directory, reason: lastError()) }
        for (file, temporary) in zip(files, temporaries) {
            guard rename(temporary, file.path) == 0 else { throw Failure(operation: "rename", path: file.path, reason: lastError()) }
        }
        temporaries = []
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Writes plainly, as the script does its rule logs.
    static func write(_ contents: String, to path: String) throws(Failure) {
        do {
            try contents.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw Failure(operation: "write", path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// The file's text, or nil when it does not exist.
    static func read(_ path: String) throws(Failure) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Failure(operation: "read", path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Removes the file if it exists.
    static func remove(_ path: String) throws(Failure) {
        guard unlink(path) == 0 || errno == ENOENT else { throw Failure(operation: "remove", path: path, reason: lastError()) }
    }

    static func makeDirectory(_ path: String) throws(Failure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Failure(operation: "create directory", path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Writes all of `bytes`, however many calls it takes; false on an error (in errno).
    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
