import ConcordCore
import ConcordSQLite
import ConcordSyncProtocol

/// Wires the SQLite store to the sync server and client: the one place they meet.
struct SQLiteSyncBackend: SyncBackend {
    let store: SQLiteEventStore

    func nodeName() throws -> String { try store.nodeInfo().name }

    func versionVector() throws -> VersionVector { try store.versionVector() }

    func missingBatch(have: VersionVector, maxEvents: Int) throws -> (batch: IngestBatch, more: Bool) {
        try store.missingBatch(have: have, maxEvents: maxEvents)
    }

    func ingest(_ batch: IngestBatch, from peer: String) throws -> IngestResult {
        try store.ingest(batch, source: "peer \(peer)")
    }

    func catchUpReadModels() throws {
        try store.catchUpProjections()
    }

    func authenticate(token: String) throws -> (peer: String, readOnly: Bool)? {
        try store.authenticate(token: token).map { ($0.name, $0.readOnly) }
    }
}
