private import Glibc

/// Files renamed into a directory (inotify `IN_MOVED_TO`): a descriptor that
/// becomes readable when one arrives, for `poll`.
final class DirectoryWatch {
    /// -1 when inotify is not available: then callers wake by their timeout.
    let descriptor: Int32

    init(_ directory: String) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if descriptor >= 0, inotify_add_watch(descriptor, directory, UInt32(IN_MOVED_TO)) < 0 {
            close(descriptor)
            self.descriptor = -1
        } else {
            self.descriptor = descriptor
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Forgets the events read so far.
    func drain() {
        guard descriptor >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(descriptor, &buffer, buffer.count) > 0 {}
    }
}
