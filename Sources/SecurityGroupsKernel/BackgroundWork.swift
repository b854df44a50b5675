import Dispatch

/// Work started on another thread now and waited for later: the ebtables
/// phase, done by other programs and independent of the sets and tables,
/// runs beside them.
final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, NetfilterError>?

    init(_ work: @escaping @Sendable () throws(NetfilterError) -> Value) {
        DispatchQueue.global().async {
            do throws(NetfilterError) {
                self.result = .success(try work())
            } catch {
                self.result = .failure(error)
            }
            self.done.signal()
        }
    }

    /// Waits for the work and returns its value or throws its error; may be
    /// called more than once.
    func finish() throws(NetfilterError) -> Value {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
