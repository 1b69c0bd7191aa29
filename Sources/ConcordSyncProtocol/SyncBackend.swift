import ConcordCore


/// What sync needs from a node, on either side: its vector, the events a peer lacks, verified ingestion,
/// and who a token belongs to. The CLI adapts the SQLite store to it.
public protocol SyncBackend: Sendable {
    func nodeName() throws -> String
    func versionVector() throws -> VersionVector
    func missingBatch(have: VersionVector, maxEvents: Int) throws -> (batch: IngestBatch, more: Bool)
    /// Verifies and stores a batch in one transaction. The read models are brought up to date
    /// separately, once a run of batches is in (`catchUpReadModels`): folding after every batch
    /// of a long sync would fold the same streams again and again.
    func ingest(_ batch: IngestBatch, from peer: String) throws -> IngestResult
    /// Folds what was stored since the read models' checkpoint into them.
    func catchUpReadModels() throws
    /// The peer a token belongs to, and whether it may only pull; nil for an unknown token.
    func authenticate(token: String) throws -> (peer: String, readOnly: Bool)?
}
