import ConcordSyncProtocol
import Logging
import Synchronization

/// Folds pushed events into the read models in the background, one run at a time.
///
/// A push answers as soon as its batch is stored. Pushes that land while a run is folding are
/// picked up by one more run after it, so a peer pushing many batches in a row does not make the
/// server fold the same streams once per batch.
final class ReadModelCatchUp: Sendable {
    private struct State {
        var running = false
        var requested = false
    }

    private let backend: any SyncBackend
    private let logger: Logger
    private let state = Mutex(State())

    init(backend: any SyncBackend, logger: Logger) {
        self.backend = backend
        self.logger = logger
    }

    /// Asks for a run; starts one unless one is already running (which will then run again).
    func request() {
        let start = state.withLock { state in
            if state.running {
                state.requested = true
                return false
            }
            state.running = true
            return true
        }
        if start {
            Task { await self.runUntilCurrent() }
        }
    }

    private func runUntilCurrent() async {
        repeat {
            do {
                try await backend.catchUpReadModels()
            } catch {
                // The next read of the read models catches them up; nothing is lost.
                logger.error("read-model catch-up failed", metadata: ["error": "\(error)"])
            }
        } while state.withLock { state in
            if state.requested {
                state.requested = false
                return true
            }
            state.running = false
            return false
        }
    }
}
