#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serialises all use of one SQLite connection (and the state that goes with it) across threads.
///
/// A plain mutex rather than `Synchronization.Mutex`: the guarded state holds a non-Sendable
/// connection that must never leave the lock, which this type's closure-scoped API guarantees.
package final class ConnectionLock<State>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var state: State

    package init(_ state: State) {
        self.state = state
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
    }

    package func withLock<T>(_ body: (inout State) throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(&state)
    }
}
