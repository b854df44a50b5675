import Foundation

/// Work started on a thread of its own now and waited for later: the
/// ebtables phase and the IPv6 tables beside the IPv4 ones, and the
/// sandbox's work inside a network namespace (`setns` moves only the calling
/// thread, so that work must not run on a shared pool thread).
package final class BackgroundWork<Value, Failure: Error>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Failure>?

    package init(_ work: @escaping @Sendable () throws(Failure) -> Value) {
        let thread = Thread {
            do throws(Failure) {
                self.result = .success(try work())
            } catch {
                self.result = .failure(error)
            }
            self.done.signal()
        }
        thread.start()
    }

    /// Waits for the work and returns its value or throws its error; may be
    /// called more than once.
    package func finish() throws(Failure) -> Value {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
