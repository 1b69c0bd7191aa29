import ConcordCore

/// What sync needs from a node, on either side: what `MissingRuns` reads, verified ingestion,
/// and who a token belongs to. `SQLiteSyncBackend` adapts the SQLite store to it.
public protocol SyncBackend: BatchSource {
    func nodeName() throws -> String
    /// Signalled after every commit that stores events (by this process, and by any other that
    /// writes the same store, as far as the backend can tell): long polls wait on it.
    var commits: CommitSignal { get }
    /// Verifies and stores a batch in one transaction, origin by origin: the origins that verify
    /// are stored, the others set aside and returned in `IngestResult.refused` (forks kept as
    /// evidence). The read models are brought up to date separately, once a run of batches is in
    /// (`catchUpReadModels`): folding after every batch of a long sync would fold the same
    /// streams again and again.
    func ingest(_ batch: IngestBatch, from peer: String) throws -> IngestResult
    /// Folds what was stored since the read models' checkpoint into them.
    func catchUpReadModels() throws
    /// The peer a token belongs to, and whether it may only pull; nil for an unknown token.
    func authenticate(token: String) throws -> (peer: String, readOnly: Bool)?
    /// Records the origins a push from `peer` had refused (for status), and forgets earlier ones
    /// whose events it has now stored.
    func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) throws
}
