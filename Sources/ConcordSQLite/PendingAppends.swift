#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ConcordCore

/// One append waiting for (or done by) a group commit.
final class AppendRequest: @unchecked Sendable {
    let drafts: [EventDraft]
    let expecting: [StreamID: ExpectedVersion]
    // The fields below are written only under `PendingAppends`' mutex; `result` is read by the
    // appender after it has been woken (the mutex or the resume orders that read after the write).
    /// Set by the leader that committed the request.
    var result: Result<AppendResult, any Error>?
    /// How the appender waits: a blocked thread on `wake`, or a suspended task on `resume`
    /// (resumed with true to lead the next commit, false once `result` is set).
    fileprivate var wake = pthread_cond_t()
    fileprivate var resume: CheckedContinuation<Bool, Never>?

    init(drafts: [EventDraft], expecting: [StreamID: ExpectedVersion]) {
        self.drafts = drafts
        self.expecting = expecting
        pthread_cond_init(&wake, nil)
    }

    deinit {
        pthread_cond_destroy(&wake)
    }
}

/// Appends waiting for the next group commit, and the one appender leading a commit at a time:
/// `GroupCommitStateMachine` decides (who leads, whom a commit wakes, to whom the lead passes);
/// this type holds it under a mutex and carries its actions out. Each appender waits on its own
/// condition (a thread) or continuation (a task), so a commit wakes only the appenders it concerns.
final class PendingAppends: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var machine = GroupCommitStateMachine<ObjectIdentifier>()
    /// The requests queued or being committed, by identity.
    private var requests: [ObjectIdentifier: AppendRequest] = [:]

    init() {
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// Queues the request and blocks the thread; returns false once a leader has committed it,
    /// true when this thread is to lead the next commit.
    func enqueueAndWaitToLead(_ request: AppendRequest) -> Bool {
        locked {
            let id = ObjectIdentifier(request)
            requests[id] = request
            if machine.arrive(id, waiting: .thread) == .lead { return true }
            while true {
                pthread_cond_wait(&request.wake, &mutex)
                if request.result != nil { return false }
                if machine.threadWoke(id) == .lead { return true }
            }
        }
    }

    /// Queues the request and suspends the task; returns as `enqueueAndWaitToLead` does.
    func enqueueAndAwaitTurnToLead(_ request: AppendRequest) async -> Bool {
        await withCheckedContinuation { continuation in
            let leadNow = locked {
                let id = ObjectIdentifier(request)
                requests[id] = request
                if machine.arrive(id, waiting: .task) == .lead { return true }
                request.resume = continuation
                return false
            }
            if leadNow { continuation.resume(returning: true) }
        }
    }

    var count: Int { locked { machine.queued.count } }

    /// What the leader commits: every request queued by now (its own among them).
    func takeAll() -> [AppendRequest] {
        locked {
            taken = machine.takeQueued()
            return taken.compactMap { requests[$0.appender] }
        }
    }

    /// The entries `takeAll` gave the leader (read and written under the mutex).
    private var taken: [(appender: ObjectIdentifier, waiting: GroupCommitStateMachine<ObjectIdentifier>.Waiting?)] = []

    /// Called by the leader with the results of the requests it took.
    func finishLeading(_ group: [AppendRequest], results: [Result<AppendResult, any Error>]) {
        var resumeDone: [CheckedContinuation<Bool, Never>] = []
        var resumeToLead: CheckedContinuation<Bool, Never>?
        locked {
            for (request, result) in zip(group, results) { request.result = result }
            let finished = machine.finishLeading(taken)
            for (id, waiting) in finished.wake {
                guard let request = requests[id] else { continue }
                switch waiting {
                case .thread: pthread_cond_signal(&request.wake)
                case .task:
                    if let resume = request.resume {
                        request.resume = nil
                        resumeDone.append(resume)
                    }
                }
            }
            for entry in taken { requests[entry.appender] = nil }
            taken = []
            switch finished.next {
            case .signalThread(let id)?:
                if let thread = requests[id] { pthread_cond_signal(&thread.wake) }
            case .resumeTaskToLead(let id)?:
                if let task = requests[id] {
                    resumeToLead = task.resume
                    task.resume = nil
                }
            case nil:
                break
            }
        }
        for resume in resumeDone { resume.resume(returning: false) }
        resumeToLead?.resume(returning: true)
    }
}
