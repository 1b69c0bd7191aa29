/// Group-commit leadership as a value-type state machine (as AsyncHTTPClient's connection state
/// machines are): who leads the next commit, who waits, whom a finished commit wakes and to whom
/// it hands the lead. No I/O and no locking of its own: the store holds it under its mutex and
/// carries out the actions with its own waiting primitives (condition variables for blocked
/// threads, continuations for suspended tasks).
///
/// While the leader commits, other appends queue up; when it finishes, it wakes the appenders it
/// committed for and passes the lead on: to a waiting thread if there is one (it needs no pool
/// thread to run, so threads blocked in a synchronous append from async code cannot starve the
/// next commit), else to the first queued task. Whoever leads commits everything queued by then.
public struct GroupCommitStateMachine<Appender: Hashable & Sendable>: Sendable {
    /// How a queued appender waits, while it waits.
    public enum Waiting: Sendable, Equatable {
        /// A blocked thread: woken by a signal, it looks for itself whether the lead is free.
        case thread
        /// A suspended task: resumed with whether it leads.
        case task
    }

    /// What an arriving appender does.
    public enum Arrival: Sendable, Equatable {
        case lead
        case wait
    }

    /// What the end of a commit sets off.
    public struct Finished: Sendable, Equatable {
        /// The committed appenders still waiting, to be woken with their results.
        public var wake: [(appender: Appender, waiting: Waiting)]
        /// Who is told to take the lead next, if anyone is queued.
        public var next: Next?

        public static func == (lhs: Finished, rhs: Finished) -> Bool {
            lhs.wake.map(\.appender) == rhs.wake.map(\.appender) && lhs.wake.map(\.waiting) == rhs.wake.map(\.waiting) && lhs.next == rhs.next
        }
    }

    public enum Next: Sendable, Equatable {
        /// Signal this waiting thread: it takes the lead when it wakes, unless a newcomer has.
        case signalThread(Appender)
        /// Resume this task as the leader (the lead is taken for it).
        case resumeTaskToLead(Appender)
    }

    private var queue: [(appender: Appender, waiting: Waiting?)] = []
    public private(set) var leading = false

    public init() {}

    /// The appenders queued and not yet taken by a leader.
    public var queued: [Appender] { queue.map(\.appender) }

    /// An appender arrives with its request: it leads at once when no one does, else it waits.
    public mutating func arrive(_ appender: Appender, waiting: Waiting) -> Arrival {
        if leading {
            queue.append((appender, waiting))
            return .wait
        }
        leading = true
        queue.append((appender, nil))
        return .lead
    }

    /// A waiting thread woke (whether signalled or not) and its request is not done: it leads
    /// if the lead is free.
    public mutating func threadWoke(_ appender: Appender) -> Arrival {
        guard !leading else { return .wait }
        leading = true
        if let index = queue.firstIndex(where: { $0.appender == appender }) { queue[index].waiting = nil }
        return .lead
    }

    /// The leader takes every queued request (its own among them) to commit them together.
    public mutating func takeQueued() -> [(appender: Appender, waiting: Waiting?)] {
        precondition(leading, "only the leader takes the queue")
        defer { queue.removeAll(keepingCapacity: true) }
        return queue
    }

    /// The leader committed `committed` (what `takeQueued` gave it).
    public mutating func finishLeading(_ committed: [(appender: Appender, waiting: Waiting?)]) -> Finished {
        precondition(leading, "only the leader finishes a commit")
        leading = false
        let wake = committed.compactMap { entry in entry.waiting.map { (entry.appender, $0) } }
        guard !queue.isEmpty else { return Finished(wake: wake, next: nil) }
        if let thread = queue.first(where: { $0.waiting == .thread }) {
            return Finished(wake: wake, next: .signalThread(thread.appender))
        }
        // A task cannot look for itself whether the lead is free: it is given it.
        leading = true
        queue[0].waiting = nil
        return Finished(wake: wake, next: .resumeTaskToLead(queue[0].appender))
    }
}
