import ConcordCore

/// What the engine asks of a store inside one write transaction to take in events from
/// elsewhere (`Ingest`): rows read and written, no rule. Every backend's driver conforms (SQLite
/// on its writer connection, PostgreSQL on a pooled connection, memory under its lock); the
/// steps and every decision between them are the engine's, written once.
///
/// A driver runs the whole of `Ingest.run` inside one transaction of its own (SQLite
/// `BEGIN IMMEDIATE`, PostgreSQL `BEGIN`) and commits when it returns: what it stored is stored
/// together or not at all. Methods are synchronous: a driver whose I/O is asynchronous runs the
/// transaction on a thread of its own and waits for each call there.
public protocol IngestTransaction {
    // MARK: Reads

    /// Locks the origins for the rest of the transaction, in the order given (origin order: no
    /// two writers deadlock); a driver whose transactions already exclude each other (SQLite's
    /// write lock, memory's) does nothing.
    func lock(_ origins: [OriginID]) throws
    /// How many origins the store holds keys of, and this node's trust mode (`settings`), read
    /// together (one round trip where each costs one).
    func originCountAndTrustMode() throws -> (origins: Int, trustMode: TrustMode)
    /// Whether the origin is on the trust roster.
    func isOnRoster(_ origin: OriginID) throws -> Bool
    /// Whether the origin is one of this node's own incarnations (a hub records none).
    func isOwnOrigin(_ origin: OriginID) throws -> Bool
    /// The origin's highest held event (its seq, hash and clock stamp; nil when none is held)
    /// and its recorded key, read together.
    func headAndKey(of origin: OriginID) throws -> (head: (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)?, key: OriginKey?)
    /// The public key recorded for the origin.
    func key(of origin: OriginID) throws -> OriginKey?
    /// The hashes of the origin's held events among `seqs` (those not held are absent).
    func hashes(of origin: OriginID, seqs: [UInt64]) throws -> [UInt64: EventHash]
    /// How many origins the store holds keys of.
    func originCount() throws -> Int
    /// How many origins are known by their key alone (no event of theirs held).
    func keyOnlyOriginCount() throws -> Int
    /// Whether fork evidence of the origin is kept.
    func hasForkProof(of origin: OriginID) throws -> Bool

    // MARK: Writes

    /// Inserts a key first seen (one of a batch's origins, or a checkpoint's signer).
    func insertKey(_ key: OriginKey, at now: Int64) throws
    /// Inserts events verified by `BatchVerifier`, in order (each continues its origin's
    /// chain), moving whatever the driver keeps beside them (positions, stream versions, stream
    /// heads), and takes (forgets) the pending erasures naming any of them, in one step (on
    /// PostgreSQL, one wait while the position row is held: the lock every writer queues on is
    /// held for as short a time as can be). Returns each event's stream version, in the same
    /// order, and each pending erasure taken: the target with the erasure naming it.
    func insertEvents(_ events: [Event], at now: Int64) throws -> (streamVersions: [Int], pendingErasures: [(target: EventID, erasure: EventID)])
    /// Inserts seals (a seal already held is kept as it is).
    func insertSeals(_ seals: [Seal], at now: Int64) throws
    /// Fills the openings of held stubs (`disclosure` 1) that these events carry (checked by
    /// the engine against the held hash and the commitment); an event held whole or erased is
    /// left. Returns the streams of the events it filled, one entry an event.
    func fillOpenings(_ events: [Event]) throws -> [StreamID]
    /// Destroys the openings of the held events among `targets` (format 2, not an erasure, not
    /// erased already), naming `erasure`. Returns the streams of the events erased, one entry an
    /// event, and the targets not held at all.
    func eraseOpenings(_ targets: [EventID], by erasure: EventID) throws -> (erased: [StreamID], unheld: [EventID])
    /// Keeps targets an erasure named that are not held yet (`pending_erasures`).
    func addPendingErasures(_ targets: [EventID], by erasure: EventID) throws
    /// Marks streams whose read-model rows must be folded again though no event was added.
    func markForRefold(_ streams: Set<StreamID>) throws
    /// Moves the openings number (docs/sync-protocol.md, "Openings").
    func bumpOpeningsGeneration() throws
    /// Whether the node has sharing rules whose grants depend on what it holds (region or
    /// meeting rules).
    func hasResolvedShareRules() throws -> Bool
    /// Keeps fork evidence: the offered history as exchange lines.
    func insertForkProof(_ proof: ForkProof, lines: String, source: String, at now: Int64) throws
    /// Brings the read models up to the log inside this transaction, when they exist.
    func catchUpReadModels() throws
    /// Says, at commit, that events or openings were stored (PostgreSQL: NOTIFY for the other
    /// processes' long polls); a driver whose commit signal is local does nothing.
    func announceCommit() throws

    // MARK: Checkpoints (a capability)

    /// Whether the store keeps checkpoints at all (SQLite and PostgreSQL do; the memory store does not).
    var keepsCheckpoints: Bool { get }
    /// The signer's newest held checkpoint.
    func newestCheckpoint(of signer: OriginID) throws -> Checkpoint?
    /// Inserts a checkpoint unless the signer's number is held; whether it was inserted.
    func insertCheckpoint(_ checkpoint: Checkpoint, at now: Int64) throws -> Bool
}

extension IngestTransaction {
    /// Each origin's range of seqs among `events` (ordered by origin): what pending erasures of
    /// them a driver takes.
    public static func seqRanges(of events: [Event]) -> [(origin: OriginID, seqs: ClosedRange<UInt64>)] {
        var ranges: [OriginID: ClosedRange<UInt64>] = [:]
        for event in events {
            ranges[event.origin] = ranges[event.origin].map { min($0.lowerBound, event.seq)...max($0.upperBound, event.seq) } ?? event.seq...event.seq
        }
        return ranges.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
