import Foundation
private import Glibc

/// Agent commands waiting for the command lock, as files in `directory`
/// (`<lock_file>.queue`, beside the lock it belongs to; `run_dir` holds
/// only the script's rule logs): `<ticket>.request` until whoever holds the lock has
/// carried it out, then `<ticket>.response` until its requester reads it.
/// Tickets sort in arrival order. A request whose process is gone is
/// nobody's to answer: it is dropped, never carried out.
struct CommandQueue {
    let directory: String

    struct Request: Codable, Equatable {
        /// The script's command name and its arguments, as the agent gave them.
        var command: String
        var arguments: [String]
        var pid: Int32
    }

    /// A carried-out request: what its process prints and its exit status, or the failure.
    struct Response: Codable, Equatable {
        var output = ""
        var status: Int32 = 0
        var warnings: [String] = []
        var error: String?
        /// The process that carried it out, and how many requests it carried out with it.
        var carriedOutBy: Int32
        var together: Int
    }

    /// Adds a request; returns its ticket.
    func enqueue(_ request: Request) throws(Files.Failure) -> String {
        try Files.makeDirectory(directory)
        let ticket = String(format: "%020llu-%d", Self.realtimeNanoseconds(), request.pid)
        try Files.writeAtomically(Self.encode(request), to: path(ticket, "request"), durable: false)
        return ticket
    }

    /// The requests not answered yet, in arrival order; those whose process
    /// is gone are removed instead.
    func waiting() -> [(ticket: String, request: Request)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var result: [(ticket: String, request: Request)] = []
        for name in names.sorted() where name.hasSuffix(".request") && !name.hasPrefix(".") {
            let ticket = String(name.dropLast(".request".count))
            guard let text = try? Files.read(path(ticket, "request")),
                  let request = try? JSONDecoder().decode(Request.self, from: Data(text.utf8)) else { continue }
            guard Self.isAlive(request.pid) else {
                try? Files.remove(path(ticket, "request"))
                continue
            }
            result.append((ticket, request))
        }
        return result
    }

    /// Lets a burst of requests arrive before they are taken: when others
    /// wait too, or several were carried out together a moment ago (their
    /// processes send their next commands now), waits until no request has
    /// come for 20 ms, 200 ms at the most. A lone command does not wait.
    func letBurstSettle() {
        var count = requestCount()
        let now = CommandLock.now()
        guard count > 1 || lastBurst().map({ now - $0 < 0.5 }) == true else { return }
        var quietSince = now
        while CommandLock.now() - now < 0.2, CommandLock.now() - quietSince < 0.02 {
            usleep(2_000)
            let current = requestCount()
            if current != count { (count, quietSince) = (current, CommandLock.now()) }
        }
    }

    /// Notes that several requests were just carried out together.
    func noteBurst() {
        try? Files.writeAtomically(String(CommandLock.now()), to: "\(directory)/.last-burst", durable: false)
    }

    private func lastBurst() -> Double? { (try? Files.read("\(directory)/.last-burst")).flatMap { $0.flatMap(Double.init) } }

    private func requestCount() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).count { $0.hasSuffix(".request") && !$0.hasPrefix(".") }
    }

    /// Answers a request: its response replaces it.
    func answer(_ ticket: String, with response: Response) throws(Files.Failure) {
        try Files.writeAtomically(Self.encode(response), to: path(ticket, "response"), durable: false)
        try Files.remove(path(ticket, "request"))
    }

    /// The response to a request, once; nil while it waits.
    func takeResponse(_ ticket: String) -> Response? {
        guard let text = try? Files.read(path(ticket, "response")),
              let response = try? JSONDecoder().decode(Response.self, from: Data(text.utf8)) else { return nil }
        try? Files.remove(path(ticket, "response"))
        return response
    }

    /// Withdraws a request that will not wait for its answer.
    func withdraw(_ ticket: String) {
        try? Files.remove(path(ticket, "request"))
        try? Files.remove(path(ticket, "response"))
    }

    private func path(_ ticket: String, _ kind: String) -> String { "\(directory)/\(ticket).\(kind)" }

    private static func encode(_ value: some Encodable) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
    }

    private static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    private static func realtimeNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
