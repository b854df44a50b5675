import Foundation
private import Glibc
import SecurityGroupsKernel

extension Agent {
    /// Carries out one of the script's commands (its arguments as the agent
    /// gave them) and returns what it prints and its exit status. The
    /// request waits in the queue beside the command lock until this
    /// process takes the lock, or another process that holds it carries
    /// the request out and answers; whoever holds the lock carries out every
    /// command waiting then (`carryOut`), so commands that arrive together
    /// share one commit per table. A process killed while it holds the lock
    /// lets the next waiter carry on.
    public func submit(_ command: Command, arguments words: [String]) throws(AgentError) -> Outcome {
        let queue = commandQueue
        let started = MonotonicClock.now()
        let ticket: String
        do {
            ticket = try queue.enqueue(CommandQueue.Request(command: command.rawValue, arguments: words, settings: settings))
        } catch {
            throw AgentError(error.description)
        }
        let response: CommandQueue.Response
        do throws(AgentError) {
            // The lock and the answer are waited for together: another process
            // may carry the request out while this one waits for the lock.
            let watch = DirectoryWatch(queue.folder(ticket))
            let lock = try configuration.commandLock(waiting: false)
            defer { lock.release() }
            var events = [pollfd(fd: watch.descriptor, events: Int16(POLLIN), revents: 0),
                          pollfd(fd: lock.ready, events: Int16(POLLIN), revents: 0)]
            while true {
                if let answered = queue.takeResponse(ticket) {
                    response = answered
                    break
                }
                if try Self.held(lock) {
                    carryOutWaiting(queue)
                    guard let answered = queue.takeResponse(ticket) else {
                        queue.withdraw(ticket)
                        throw AgentError("\(command.rawValue): its request \(queue.folder(ticket)) was lost")
                    }
                    response = answered
                    break
                }
                _ = poll(&events, 2, 1000)
                watch.drain()
            }
            let waited = MonotonicClock.now() - started
            if response.carriedOutBy != getpid() || waited >= 0.01 {
                logger.info("\(command.rawValue): waited \(String(format: "%.2f", waited)) s; carried out by process \(response.carriedOutBy) with \(response.together - 1) other command(s)")
            }
        } catch {
            queue.withdraw(ticket)
            throw error
        }
        if let error = response.error { throw AgentError(error, kind: response.status == 2 ? .badInput : .failure) }
        return Outcome(output: response.output, status: response.status, warnings: response.warnings)
    }

    private static func held(_ lock: FileLock) throws(AgentError) -> Bool {
        do { return try lock.check() } catch { throw AgentError(error.description) }
    }

    /// What a request is carried out with: another process's configuration
    /// (other directories, layout or libvirt) would not do what its own does.
    var settings: String {
        [configuration.layout.rawValue, configuration.libvirtURI, configuration.runDirectory, configuration.stateDirectory]
            .joined(separator: "\n")
    }

    /// Requests waiting for the command lock, beside it.
    var commandQueue: CommandQueue { CommandQueue(directory: "\(configuration.lockFile).queue") }

    /// Carries out every request waiting in the queue, in arrival order, and
    /// answers each; only while holding the command lock.
    func carryOutWaiting(_ queue: CommandQueue) {
        queue.letBurstSettle()
        let started = MonotonicClock.now()
        let waiting = queue.waiting()
        var commands: [(Command, AgentArguments)] = []
        var tickets: [String] = []
        for (ticket, request) in waiting where request.settings == nil || request.settings == settings {
            do {
                guard let command = Command(rawValue: request.command) else {
                    throw AgentError("unknown command '\(request.command)'", kind: .badInput)
                }
                let arguments: AgentArguments
                do { arguments = try AgentArguments(parsing: request.arguments) } catch { throw AgentError(error.description, kind: .badInput) }
                commands.append((command, arguments))
                tickets.append(ticket)
            } catch {
                answer(queue, ticket, .failure(Self.agentError(error)), together: 1)
            }
        }
        for (ticket, result) in zip(tickets, carryOut(commands)) {
            answer(queue, ticket, result, together: commands.count)
        }
        if commands.count > 1 { queue.noteBurst(seconds: MonotonicClock.now() - started) }
    }

    private func answer(_ queue: CommandQueue, _ ticket: String, _ result: Result<Outcome, AgentError>, together: Int) {
        var response = CommandQueue.Response(carriedOutBy: getpid(), together: together)
        switch result {
        case .success(let outcome):
            (response.output, response.status, response.warnings) = (outcome.output, outcome.status, outcome.warnings)
        case .failure(let error):
            (response.error, response.status) = (error.description, error.exitStatus)
        }
        do {
            try queue.answer(ticket, with: response)
        } catch {
            logger.error("cannot answer \(ticket): \(error)")
        }
    }
}
