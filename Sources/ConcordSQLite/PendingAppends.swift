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

/// Appends waiting for the next group commit, and the one appender leading a commit at a time.
///
/// While the leader commits, other appends queue up; when it finishes, it wakes the appenders it
/// committed for and passes the lead on: to a waiting thread if there is one (it needs no pool
/// thread to run, so threads blocked in the synchronous `append` from async code cannot starve
/// the next commit), else to the first queued task. Whoever leads commits everything queued by
/// then. Each appender waits on its own condition (a thread) or continuation (a task), so a
/// commit wakes only the appenders it concerns.
final class PendingAppends: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var queue: [AppendRequest] = []
    private var leading = false

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
            queue.append(request)
            while true {
                if request.result != nil { return false }
                if !leading {
                    leading = true
                    return true
                }
                pthread_cond_wait(&request.wake, &mutex)
            }
        }
    }

    /// Queues the request and suspends the task; returns as `enqueueAndWaitToLead` does.
    func enqueueAndAwaitTurnToLead(_ request: AppendRequest) async -> Bool {
        await withCheckedContinuation { continuation in
            let leadNow = locked {
                queue.append(request)
                if leading {
                    request.resume = continuation
                    return false
                }
                leading = true
                return true
            }
            if leadNow { continuation.resume(returning: true) }
        }
    }

    var count: Int { locked { queue.count } }

    func takeAll() -> [AppendRequest] {
        locked {
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
    }

    /// Called by the leader with the results of the requests it took.
    func finishLeading(_ group: [AppendRequest], results: [Result<AppendResult, any Error>]) {
        var resumeDone: [CheckedContinuation<Bool, Never>] = []
        var resumeToLead: CheckedContinuation<Bool, Never>?
        locked {
            for (request, result) in zip(group, results) {
                request.result = result
                if let resume = request.resume {
                    request.resume = nil
                    resumeDone.append(resume)
                } else {
                    pthread_cond_signal(&request.wake)
                }
            }
            leading = false
            guard !queue.isEmpty else { return }
            if let thread = queue.first(where: { $0.resume == nil }) {
                // It takes the lead itself when it wakes (unless a newcomer does first, which
                // then commits its request too).
                pthread_cond_signal(&thread.wake)
            } else if let task = queue.first, let resume = task.resume {
                // A task cannot look for itself whether the lead is free: it is given it.
                task.resume = nil
                leading = true
                resumeToLead = resume
            }
        }
        for resume in resumeDone { resume.resume(returning: false) }
        resumeToLead?.resume(returning: true)
    }
}
