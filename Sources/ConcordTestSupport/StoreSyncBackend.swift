import ConcordCore
import ConcordSQLite
import ConcordSyncProtocol

/// A SQLite store as a sync backend, for tests that drive the sync client in-process (the CLI
/// has its own adapter; this one is for harnesses that run many peers in one process).
public struct StoreSyncBackend: SyncBackend {
    public let store: SQLiteEventStore

    public init(store: SQLiteEventStore) {
        self.store = store
    }

    public func nodeName() throws -> String { try store.nodeInfo().name }
    public func versionVector() throws -> VersionVector { try store.versionVector() }
    public func missingBatch(have: VersionVector, maxEvents: Int) throws -> (batch: IngestBatch, more: Bool) {
        try store.missingBatch(have: have, maxEvents: maxEvents)
    }
    public func ingest(_ batch: IngestBatch, from peer: String) throws -> IngestResult { try store.ingest(batch, source: "peer \(peer)") }
    public func catchUpReadModels() throws { try store.catchUpProjections() }
    public func authenticate(token: String) throws -> (peer: String, readOnly: Bool)? {
        try store.authenticate(token: token).map { ($0.name, $0.readOnly) }
    }
}
