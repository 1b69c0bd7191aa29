import ConcordCore

/// What sync needs from a node, on either side: what `MissingRuns` reads, verified ingestion,
/// and who a token belongs to. `SQLiteSyncBackend` adapts the SQLite store to it.
public protocol SyncBackend: BatchSource {
    func nodeName() async throws -> String
    /// Signalled after every commit that stores events (by this process, and by any other that
    /// writes the same store, as far as the backend can tell): long polls wait on it.
    var commits: CommitSignal { get }
    /// Verifies and stores a batch in one transaction, origin by origin: the origins that verify
    /// are stored, the others set aside and returned in `IngestResult.refused` (forks kept as
    /// evidence). The read models are brought up to date separately, once a run of batches is in
    /// (`catchUpReadModels`): folding after every batch of a long sync would fold the same
    /// streams again and again.
    func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult
    /// Folds what was stored since the read models' checkpoint into them.
    func catchUpReadModels() async throws
    /// The peer a token belongs to, and whether it may only pull; nil for an unknown token.
    func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)?
    /// Records the origins a push from `peer` had refused (for status), and forgets earlier ones
    /// whose events it has now stored.
    func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) async throws
    /// This node's sharing rules for `peer`, resolved against what it holds: what the peer
    /// receives with openings (docs/privacy.md).
    func sharingPolicy(for peer: String) async throws -> SharingPolicy
    /// The number that changes whenever this node's rules change or it stores a late opening.
    func openingsGeneration() async throws -> UInt64
    /// The events this node holds as stubs (not erased) that it stored after the cursor `since`,
    /// at most `limit` of them, as ranges; `through` is the cursor of the last one listed
    /// (`since` when none), `more` whether others follow.
    func withheld(storedAfter since: Int64, limit: Int) async throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool)
    /// The cursor of the newest stub this node holds (0 when none).
    func stubsCursor() async throws -> Int64
    /// Stores the openings of held stubs that a peer sent (each checked against its commitment).
    func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult
    /// Where this node's last reconciliation of openings with `peer` left off.
    func openingsState(with peer: String) async throws -> OpeningsState
    func recordOpeningsState(_ state: OpeningsState, with peer: String) async throws
    /// The highest checkpoint number held of each signer, or nil for a node that keeps no
    /// checkpoints (it then neither offers nor asks for any).
    func checkpointNumbers() async throws -> VersionVector?
    /// Signs a checkpoint of what this node holds now (nothing when its last one says the same,
    /// or when it keeps none).
    func signCheckpoint() async throws
}

extension SyncBackend {
    public func checkpointNumbers() async throws -> VersionVector? { nil }
    public func signCheckpoint() async throws {}
}

/// A node's events as one peer may see them: each event whole or as its stub, as the node's
/// sharing rules for that peer decide. Every sender reads through it (pull answers, pushes,
/// `export --for`), so no opening leaves a node that its rules withhold.
public struct SharedView: BatchSource {
    public let source: any BatchSource
    public let policy: SharingPolicy

    public init(source: any BatchSource, policy: SharingPolicy) {
        self.source = source
        self.policy = policy
    }

    public func versionVector() async throws -> VersionVector { try await source.versionVector() }
    public func originKey(_ origin: OriginID) async throws -> OriginKey? { try await source.originKey(origin) }
    public func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash? { try await source.eventHash(origin, seq: seq) }
    public func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal? { try await source.nextSeal(of: origin, after: seq) }
    public func seals(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Seal] { try await source.seals(of: origin, after: after, through: through) }
    public func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64? { try await source.nextHeldSeq(of: origin, after: seq) }
    public func eventHashes(_ ids: [EventID]) async throws -> [EventID: EventHash] { try await source.eventHashes(ids) }
    // Checkpoints name hashes only, never openings: a peer's view holds them all.
    public func heldCheckpoints(after numbers: [OriginID: UInt64], limit: Int) async throws -> [Checkpoint] { try await source.heldCheckpoints(after: numbers, limit: limit) }
    public var readAheadOrigins: Int { source.readAheadOrigins }
    public func nextRuns(_ starts: [EventID]) async throws -> [OriginID: (seal: Seal, events: [Event])] {
        try await source.nextRuns(starts).mapValues { ($0.seal, $0.events.map(policy.shared)) }
    }
    public func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event] {
        try await source.events(of: origin, after: after, through: through).map(policy.shared)
    }
}
