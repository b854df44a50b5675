import Foundation
import Glibc
import CGlibcExtensions
import SecurityGroupsKernel

/// Work done inside a network namespace: on a thread of its own that joins
/// the namespace (`setns` moves only the calling thread), so the sockets it
/// opens belong there and can then be used from any thread.
public enum NamespaceThread {
    public static func run<T>(in namespace: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let descriptor = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw NetfilterError(operation: "open namespace", object: namespace, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        return try BackgroundWork { () throws -> T in
            guard sg_setns_network(descriptor) == 0 else {
                throw NetfilterError(operation: "join namespace", object: namespace, reason: String(cString: strerror(errno)))
            }
            return try body()
        }.finish()
    }
}
