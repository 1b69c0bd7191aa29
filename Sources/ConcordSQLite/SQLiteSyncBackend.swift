import ConcordCore
import ConcordSyncProtocol

/// The SQLite store as what sync needs from a node: the sync server (`concord serve`), the sync
/// client (`concord sync`, the demo) and the test harnesses that drive many peers in one process.
public struct SQLiteSyncBackend: SyncBackend {
    public let store: SQLiteEventStore

    public init(store: SQLiteEventStore) {
        self.store = store
    }

    public func nodeName() throws -> String { try store.nodeInfo().name }

    public func versionVector() throws -> VersionVector { try store.versionVector() }

    public func missingBatch(have: VersionVector, maxEvents: Int) throws -> (batch: IngestBatch, more: Bool) {
        try store.missingBatch(have: have, maxEvents: maxEvents)
    }

    public func ingest(_ batch: IngestBatch, from peer: String) throws -> IngestResult {
        try store.ingest(batch, source: "peer \(peer)")
    }

    public func catchUpReadModels() throws {
        try store.catchUpProjections()
    }

    public func authenticate(token: String) throws -> (peer: String, readOnly: Bool)? {
        try store.authenticate(token: token).map { ($0.name, $0.readOnly) }
    }
}
