import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The process's entry point: runs the command tree on the cooperative pool and waits for it.
///
/// Not an `async` main on purpose: Swift's async main turns the main thread into dispatch's
/// signal thread, and valgrind 3.19 (Debian 12's) cannot run such a process, while the
/// instruction counts of scripts/bench-callgrind.sh need valgrind to run `concord` itself.
/// Nothing in Concord runs on the main actor or the main queue, so the blocked main thread is
/// not missed.
@main
enum ConcordMain {
    static func main() {
        // The main thread takes the process's signals, as an async main's does: dispatch's
        // threads block them, and a process started by one (a test's `Process`) inherits that
        // mask, so without this a SIGTERM would wait, pending, for ever.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        let finished = DispatchSemaphore(value: 0)
        // Detached: a task made here would inherit the main actor, whose queue a blocked main
        // thread never drains.
        Task.detached {
            await Concord.main()
            finished.signal()
        }
        finished.wait()
    }
}
