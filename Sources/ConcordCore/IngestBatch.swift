/// Events written elsewhere, with the seals and keys that vouch for them.
public struct IngestBatch: Sendable {
    public var keys: [OriginKey]
    public var events: [Event]
    public var seals: [Seal]
    /// Nodes' signed statements of what they held (docs/audit.md). Stored by the SQLite store;
    /// the PostgreSQL and in-memory stores do not keep them yet.
    public var checkpoints: [Checkpoint]

    public init(keys: [OriginKey] = [], events: [Event] = [], seals: [Seal] = [], checkpoints: [Checkpoint] = []) {
        self.keys = keys
        self.events = events
        self.seals = seals
        self.checkpoints = checkpoints
    }
}

public struct IngestResult: Sendable, Equatable {
    /// Events stored by this call.
    public var inserted: Int
    /// Events this node already held, byte for byte.
    public var alreadyHeld: Int
    /// Origins whose part of the batch was refused and set aside (nothing of them was stored);
    /// the other origins' parts were stored.
    public var refused: [OriginRefusal]
    /// Openings of held stubs stored by this call.
    public var openingsStored = 0
    /// Openings destroyed by the erasures this call stored.
    public var openingsErased = 0
    /// Checkpoints stored by this call.
    public var checkpointsStored = 0
    /// Checkpoints of a synced batch left out because they did not verify.
    public var checkpointsRefused = 0

    public init(inserted: Int, alreadyHeld: Int, refused: [OriginRefusal] = []) {
        self.inserted = inserted
        self.alreadyHeld = alreadyHeld
        self.refused = refused
    }
}

/// What to do with a batch in which some origins' parts do not verify.
public enum IngestPolicy: Sendable {
    /// Store the origins that verify and set the others aside (sync: one origin's bad events
    /// never stop the others).
    case setAside
    /// Store nothing unless every origin verifies (an import of a file is one decision).
    case allOrNothing
}

