import Foundation
private import Glibc
import SecurityGroupsKernel

/// Agent commands waiting for the command lock, in `directory`
/// (`<lock_file>.queue`, beside the lock it belongs to; `run_dir` holds
/// only the script's rule logs): a directory per request, `<ticket>/`,
/// holding `request` until whoever holds the lock has carried it out, then
/// `response` until its requester takes it (and the directory). Each
/// requester watches only its own directory, so answering K requests wakes
/// K processes, not K². Tickets (monotonic nanoseconds) sort in arrival order and end with the
/// requester's pid: a request whose process is gone is nobody's to answer,
/// it is dropped, never carried out.
struct CommandQueue {
    let directory: String

    struct Request: Codable {
        /// The script's command name and its arguments, as the agent gave them.
        var command: String
        var arguments: [String]
        /// The requester's settings (`Agent.settings`): only a process with
        /// the same ones carries it out. None: whoever holds the lock.
        var settings: String?
    }

    /// A carried-out request: what its process prints and its exit status, or the failure.
    struct Response: Codable {
        var output = ""
        var status: Int32 = 0
        var warnings: [String] = []
        var error: String?
        /// The process that carried it out, and how many requests it carried out with it.
        var carriedOutBy: Int32
        var together: Int
    }

    /// Adds a request of this process; returns its ticket.
    func enqueue(_ request: Request) throws(Files.Failure) -> String {
        let ticket = String(format: "%020llu-%d", UInt64(MonotonicClock.now() * 1e9), getpid())
        try Files.makeDirectory(folder(ticket))
        try Files.writeAtomically(Self.encode(request), to: path(ticket, "request"), durable: false)
        return ticket
    }

    /// The folder to watch for the request's response.
    func folder(_ ticket: String) -> String { "\(directory)/\(ticket)" }

    /// The requests not answered yet, in arrival order. Those whose process
    /// is gone are removed instead, answered or not.
    func waiting() -> [(ticket: String, request: Request)] {
        var result: [(ticket: String, request: Request)] = []
        for ticket in tickets() {
            guard Self.isAlive(ticket) else {
                try? FileManager.default.removeItem(atPath: folder(ticket))
                continue
            }
            guard let text = try? Files.read(path(ticket, "request")),
                  let request = try? JSONDecoder().decode(Request.self, from: Data(text.utf8)) else { continue }
            result.append((ticket, request))
        }
        return result
    }

    /// Lets a burst of requests arrive before they are taken: when others
    /// wait too, or several were carried out together a moment ago (their
    /// processes send their next commands now), waits until no request has
    /// come for 30 ms, and at the most half as long as that last batch took
    /// (another batch would cost about as much again), 0.2 to 1 s. A lone
    /// command does not wait.
    func letBurstSettle() {
        var count = requestCount()
        let start = MonotonicClock.now()
        let last = lastBurst()
        let recent = last.map { start - $0.end < 0.5 } ?? false
        guard count > 1 || recent else { return }
        let longest = min(1, max(0.2, (last?.seconds ?? 0) / 2))
        var quietSince = start
        while MonotonicClock.now() - start < longest, MonotonicClock.now() - quietSince < 0.03 {
            usleep(2_000)
            let current = requestCount()
            if current != count { (count, quietSince) = (current, MonotonicClock.now()) }
        }
    }

    /// Notes that several requests were just carried out together, in `seconds`.
    func noteBurst(seconds: Double) {
        try? Files.writeAtomically("\(MonotonicClock.now()) \(seconds)", to: "\(directory)/.last-burst", durable: false)
    }

    private func lastBurst() -> (end: Double, seconds: Double)? {
        let words = ((try? Files.read("\(directory)/.last-burst")) ?? nil)?.split(separator: " ").compactMap { Double($0) } ?? []
        return words.count == 2 ? (words[0], words[1]) : nil
    }

    private func requestCount() -> Int {
        tickets().count { access(path($0, "request"), F_OK) == 0 }
    }

    /// Answers a request: its response replaces it.
    func answer(_ ticket: String, with response: Response) throws(Files.Failure) {
        try Files.writeAtomically(Self.encode(response), to: path(ticket, "response"), durable: false)
        try Files.remove(path(ticket, "request"))
    }

    /// The response to a request, once (its folder goes with it); nil while it waits.
    func takeResponse(_ ticket: String) -> Response? {
        guard let text = try? Files.read(path(ticket, "response")),
              let response = try? JSONDecoder().decode(Response.self, from: Data(text.utf8)) else { return nil }
        withdraw(ticket)
        return response
    }

    /// Withdraws a request that will not wait for its answer.
    func withdraw(_ ticket: String) {
        try? FileManager.default.removeItem(atPath: folder(ticket))
    }

    private func tickets() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    private func path(_ ticket: String, _ name: String) -> String { "\(directory)/\(ticket)/\(name)" }

    private static func encode(_ value: some Encodable) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
    }

    /// Whether the process of a ticket (`<time>-<pid>`) runs.
    private static func isAlive(_ ticket: String) -> Bool {
        guard let pid = ticket.split(separator: "-").last.flatMap({ Int32($0) }) else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
