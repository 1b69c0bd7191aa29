import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
@testable import ConcordSQLite
import ConcordTestSupport
import Synchronization

/// Milliseconds that move only when the scheduler says so, shared by every simulated node.
final class SimulatedClock: Sendable {
    private let now = Mutex<Int64>(1_457_519_400_000)

    func read() -> Int64 { now.withLock { $0 } }

    func advance(by millis: Int64) { now.withLock { $0 += millis } }
}

/// One regional node of the simulation: a real SQLite store in a temporary file, with a key and a
/// clock derived from the seed, that can go offline and crash (its store is closed and reopened).
final class SimulatedNode {
    let name: String
    let path: String
    private let options: SQLiteEventStore.Options
    private(set) var store: SQLiteEventStore
    var online = true

    init(name: String, directory: TemporaryDirectory, keySeed: [UInt8], clock: SimulatedClock) throws {
        self.name = name
        path = directory.file("\(name).sqlite")
        var options = SQLiteEventStore.Options(durability: .normal)
        options.clock = { clock.read() }
        self.options = options
        store = try SQLiteEventStore.create(
            at: path, nodeName: name, key: try NodeKey(rawPrivateKey: keySeed), options: options, logger: StoreFixtures.quietLogger
        )
    }

    /// A crash as the process sees it: the connection goes away without a goodbye, and the node
    /// comes back by opening its file again.
    func crashAndRestart() throws {
        store = try SQLiteEventStore.open(at: path, options: options, logger: StoreFixtures.quietLogger)
    }

    var recorder: DomainRecorder { DomainRecorder(store: SQLiteSyncBackend(store: store)) }
}
