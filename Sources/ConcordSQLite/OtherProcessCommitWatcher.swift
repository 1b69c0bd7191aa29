#if canImport(Glibc)
import Glibc
#endif
import ConcordCore
import Foundation

/// Signals a store's `commits` when another process commits to the same file (a `concord case
/// open` beside a running `concord serve` or `concord sync --follow`), so that waiting long polls
/// and followers wake at once instead of reading the store on a timer.
///
/// How: a commit in WAL mode appends frames to `STORE-wal`; inotify reports the write, and
/// `PRAGMA data_version` (which changes only when another connection has committed) confirms it.
/// Where inotify is not available, or misses a write, the same check runs every second anyway.
public final class OtherProcessCommitWatcher: CommitWatch {
    private let loop: Loop

    init(store: SQLiteEventStore) {
        loop = Loop(store: store)
        let loop = loop
        let thread = Thread { loop.run() }
        thread.name = "concord-commit-watcher"
        thread.start()
    }

    /// Stops watching (also on release): the watching thread ends within a second.
    public func stop() { loop.stop() }

    deinit { loop.stop() }

    /// The watching thread's state; the thread holds it, so it outlives the watcher if need be.
    private final class Loop: @unchecked Sendable {
        private let store: SQLiteEventStore
        private let inotify: Int32
        private let lock = NSLock()
        private var running = true

        init(store: SQLiteEventStore) {
            self.store = store
            #if canImport(Glibc)
            inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            if inotify >= 0 {
                _ = inotify_add_watch(inotify, store.path + "-wal", UInt32(IN_MODIFY))
                _ = inotify_add_watch(inotify, store.path, UInt32(IN_MODIFY))
            }
            #else
            inotify = -1
            #endif
        }

        func stop() { lock.withLock { running = false } }

        private var isRunning: Bool { lock.withLock { running } }

        func run() {
            var version = (try? store.dataVersion()) ?? 0
            var buffer = [UInt8](repeating: 0, count: 4096)
            while isRunning {
                #if canImport(Glibc)
                if inotify >= 0 {
                    var descriptor = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
                    if poll(&descriptor, 1, 1000) > 0 {
                        // Drain the events: what matters is that a write happened.
                        while buffer.withUnsafeMutableBytes({ read(inotify, $0.baseAddress, $0.count) }) > 0 {}
                    }
                } else {
                    usleep(1_000_000)
                }
                #else
                usleep(1_000_000)
                #endif
                guard isRunning, let now = try? store.dataVersion() else { continue }
                if now != version {
                    version = now
                    store.commits.signal()
                }
            }
            if inotify >= 0 { close(inotify) }
        }
    }
}

extension SQLiteEventStore {
    /// Starts signalling `commits` for commits by other processes too; keep the watcher while
    /// that is wanted.
    public func watchOtherProcesses() -> OtherProcessCommitWatcher {
        OtherProcessCommitWatcher(store: self)
    }

    /// `PRAGMA data_version`: changes when another connection has committed to the file.
    func dataVersion() throws -> Int64 {
        try withConnection("read the data version") { state in try state.connection.scalarInt("PRAGMA data_version") ?? 0 }
    }
}
