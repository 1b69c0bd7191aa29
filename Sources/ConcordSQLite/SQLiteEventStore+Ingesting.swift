import ConcordCore

extension SQLiteEventStore {
    /// Stores events of any origin after verifying them (`BatchVerifier`: the rules are the same
    /// on every backend), in one transaction.
    ///
    /// Each origin's part is judged on its own. With `.setAside` (sync), the parts that verify are
    /// stored and the others are returned in `IngestResult.refused`, nothing of them stored: one
    /// origin's bad or forked events never stop the others. With `.allOrNothing` (an import), a
    /// refused part refuses the whole batch (the first refusal is thrown). Either way a fork, a
    /// different event at a held `(origin, seq)` signed by the origin, is kept as evidence
    /// (`forks()`), with the offered history and its seal.
    @discardableResult
    public func ingest(_ batch: IngestBatch, source: String = "import", policy: IngestPolicy = .allOrNothing) throws -> IngestResult {
        let result = try withConnection("store \(batch.events.count) event(s)") { state in
            let connection = state.connection
            return try connection.transaction {
                let trust = try TrustPolicy(connection)
                let parts = BatchVerifier.parts(of: batch)
                var states: [OriginID: OriginState] = [:]
                for part in parts {
                    states[part.origin] = try Self.originState(
                        connection, part.origin, seqs: { BatchVerifier.seqsToLookUp(events: part.events, seals: part.seals, head: $0) }, trust: trust
                    )
                }
                // Every vector names every origin a node holds: past the cap it would not fit a request.
                let held = Int(try connection.scalarInt("SELECT count(*) FROM origins") ?? 0)
                let (plans, refused) = BatchVerifier(now: options.clock()).verify(parts, states: states, originsHeld: held)
                let now = options.clock()
                for proof in refused.compactMap(\.proof) { try Self.recordForkProof(connection, proof, source: source, at: now) }
                if policy == .allOrNothing, !refused.isEmpty {
                    // Nothing of the batch is stored; the fork evidence (if any) is.
                    return IngestResult(inserted: 0, alreadyHeld: 0, refused: refused)
                }
                // A checkpoint that does not verify refuses an import before anything is stored
                // (after the events' own verdicts, which name what is wrong with them first); in a
                // sync it is left out, like a refused origin's part, and the rest is stored.
                let checkpoints = try Self.validate(batch.checkpoints, offeredKeys: batch.keys, connection, now: now, dropping: policy == .setAside)
                let stored = try Self.store(plans, connection, at: now)
                // An import is a copy and keeps every claim; a sync keeps only what it now holds.
                let checkpointsStored = try Self.store(checkpoints.valid, offeredKeys: batch.keys, fromPeer: policy == .setAside, connection, at: now).stored
                // Erased openings leave the read models in the same transaction, and openings that
                // arrived enter them: at every commit the read models are the fold of the log up
                // to where they stand (what concord verify checks), marks included.
                if stored.erased > 0 || stored.openings > 0, try Self.projectionCheckpoint(connection).version != nil { _ = try Self.catchUp(connection) }
                var result = IngestResult(inserted: stored.inserted, alreadyHeld: plans.reduce(0) { $0 + $1.alreadyHeld }, refused: refused)
                result.openingsStored = stored.openings
                result.openingsErased = stored.erased
                result.checkpointsStored = checkpointsStored
                result.checkpointsRefused = checkpoints.refused
                return result
            }
        }
        if policy == .allOrNothing, let first = result.refused.first { throw first.error }
        if result.openingsErased > 0 { scrubAfterErasure() }
        if result.inserted > 0 || result.openingsStored > 0 { commits.signal() }
        return result
    }

    /// What the store holds of one origin, for `BatchVerifier`. `seqs` names, given the head,
    /// the held seqs whose hashes are needed.
    static func originState(
        _ connection: SQLiteConnection, _ origin: OriginID, seqs: (UInt64) -> [UInt64], trust: TrustPolicy
    ) throws -> OriginState {
        var state = OriginState(trusted: try trust.accepts(origin))
        let head = try connection.cached("SELECT seq, hash, hlc FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
        try head.bind(1, origin.hex)
        if try head.step() {
            state.head = UInt64(bitPattern: head.int64(0))
            state.headHash = EventHash(bytes: head.blob(1))
            state.headHLC = HLCTimestamp(packed: head.int64(2))
        }
        head.reset()
        state.key = try storedKey(connection, origin)
        for seq in seqs(state.head) where state.heldHashes[seq] == nil {
            if let hash = try storedHash(connection, EventID(origin: origin, seq: seq)) { state.heldHashes[seq] = hash }
        }
        return state
    }

    /// Inserts verified plans: keys first seen, events (moving stream heads), seals, late
    /// openings; applies the erasures among the new events. Returns what it stored and erased.
    private static func store(_ plans: [OriginPlan], _ connection: SQLiteConnection, at now: Int64) throws -> (inserted: Int, openings: Int, erased: Int) {
        let insert = try connection.cached(insertEventSQL)
        var heads = HeadMover(connection)
        var scratch: [UInt8] = []
        // Stream versions are read once a stream, then counted here for the rest of the batch.
        var versions: [StreamID: Int] = [:]
        var inserted = 0
        var openings = 0
        var erased = 0
        var grantsMayWiden = false
        for plan in plans where !plan.openings.isEmpty {
            openings += try storeOpenings(plan.openings, connection)
        }
        for plan in plans where !plan.events.isEmpty || !plan.seals.isEmpty {
            // Only origins with something stored get their key recorded.
            if let key = plan.newKey {
                try connection.cached("INSERT OR IGNORE INTO origins (origin, public_key, first_seen) VALUES (?, ?, ?)")
                    .run([.text(key.origin.hex), .blob(key.publicKey), .integer(now)])
            }
            for event in plan.events {
                let version = try nextVersion(of: event.stream, after: versions[event.stream] ?? streamVersion(connection, event.stream))
                versions[event.stream] = version
                try bindInsert(insert, event, streamVersion: version, storedAt: now, scratch: &scratch)
                try heads.moveHeads(for: event)
                if !grantsMayWiden { grantsMayWiden = mayWidenGrants(event, version: version) }
                // Verified by `BatchVerifier`: an erasure here is one every node applies.
                if let erasure = try Erasure.recorded(by: event) { erased += try applyErasure(erasure, by: event.id, connection) }
            }
            for seal in plan.seals { try insertSeal(connection, seal, at: now) }
            if let first = plan.events.first, let last = plan.events.last, first.seq <= last.seq {
                erased += try applyPendingErasures(of: first.origin, seqs: first.seq...last.seq, connection)
            }
            inserted += plan.events.count
        }
        if grantsMayWiden { try noteGrantsMayWiden(connection) }
        return (inserted, openings, erased)
    }

    static func recordForkProof(_ connection: SQLiteConnection, _ proof: ForkProof, source: String, at now: Int64) throws {
        // One proof an origin is enough to show its key signed two histories; keeping every one a
        // forger offers would let it grow this store without end.
        guard try connection.scalarInt("SELECT 1 FROM fork_proofs WHERE origin = ? LIMIT 1", [.text(proof.origin.hex)]) == nil else { return }
        // A fork is only found at a held seq, so the origin's key is recorded here.
        guard let key = try storedKey(connection, proof.origin) else { return }
        try connection.cached("INSERT OR IGNORE INTO fork_proofs (origin, seq, held_hash, offered_hash, proof, source, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .run([
                .text(proof.origin.hex), .integer(Int64(bitPattern: proof.seq)), .blob(proof.heldHash.bytes), .blob(proof.offeredHash.bytes),
                .text(proof.exchangeLines(key: key)), .text(source), .integer(now),
            ])
    }

    /// The first seal of an origin after `seq` (a range read of the seals' primary key).
    public func nextSeal(of origin: OriginID, after seq: UInt64) throws -> Seal? {
        try withConnection("read seals") { state in
            let statement = try state.connection.cached("SELECT seq, hash, signature FROM seals WHERE origin = ? AND seq > ? ORDER BY seq LIMIT 1")
            try statement.bind([.text(origin.hex), .integer(Int64(bitPattern: seq))])
            guard try statement.step() else { return nil }
            return Seal(origin: origin, seq: UInt64(bitPattern: statement.int64(0)), hash: EventHash(bytes: statement.blob(1)), signature: statement.blob(2))
        }
    }

    /// An origin's seals with seqs `after + 1 … through`.
    public func seals(of origin: OriginID, after: UInt64, through: UInt64) throws -> [Seal] {
        try withConnection("read seals") { state in
            let statement = try state.connection.cached("SELECT seq, hash, signature FROM seals WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq")
            try statement.bind([.text(origin.hex), .integer(Int64(bitPattern: after)), .integer(Int64(bitPattern: through))])
            var seals: [Seal] = []
            while try statement.step() {
                seals.append(Seal(origin: origin, seq: UInt64(bitPattern: statement.int64(0)), hash: EventHash(bytes: statement.blob(1)), signature: statement.blob(2)))
            }
            return seals
        }
    }

    /// The hash of a held event, or nil.
    public func eventHash(_ origin: OriginID, seq: UInt64) throws -> EventHash? {
        try withConnection("read the log") { state in try Self.storedHash(state.connection, EventID(origin: origin, seq: seq)) }
    }

    /// The public key recorded for an origin.
    public func originKey(_ origin: OriginID) throws -> OriginKey? {
        try withConnection("read origin keys") { state in try Self.storedKey(state.connection, origin) }
    }

    static func storedKey(_ connection: SQLiteConnection, _ origin: OriginID) throws -> OriginKey? {
        let statement = try connection.cached("SELECT public_key FROM origins WHERE origin = ?")
        defer { statement.reset() }
        try statement.bind(1, origin.hex)
        guard try statement.step() else { return nil }
        return OriginKey(origin: origin, publicKey: statement.blob(0))
    }

    static func storedHash(_ connection: SQLiteConnection, _ id: EventID) throws -> EventHash? {
        let statement = try connection.cached("SELECT hash FROM events WHERE origin = ? AND seq = ?")
        defer { statement.reset() }
        try statement.bind([.text(id.origin.hex), .integer(Int64(bitPattern: id.seq))])
        guard try statement.step() else { return nil }
        return EventHash(bytes: statement.blob(0))
    }

}

/// Keeps `stream_heads` right as foreign events arrive, in any order, with index lookups only.
///
/// A foreign event supersedes the heads it names. It becomes a head itself unless a stored event
/// already names it (it arrived after its successor): such parents are recorded in
/// `awaited_parents` when their successor is stored, so the check is one primary-key lookup.
struct HeadMover {
    private let connection: SQLiteConnection
    /// The highest seq held per origin (origins are gap-free, so every lower seq is held too).
    private var heldThrough: [OriginID: UInt64] = [:]

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    mutating func moveHeads(for event: Event) throws {
        let stream = SQLiteValue.text(event.stream.rawValue)
        for parent in event.prev {
            if try isHeld(parent) {
                try connection.cached("DELETE FROM stream_heads WHERE stream = ? AND origin = ? AND seq = ?")
                    .run([stream, .text(parent.origin.hex), .integer(Int64(bitPattern: parent.seq))])
            } else {
                try connection.cached("INSERT OR IGNORE INTO awaited_parents (origin, seq, stream) VALUES (?, ?, ?)")
                    .run([.text(parent.origin.hex), .integer(Int64(bitPattern: parent.seq)), stream])
            }
        }
        let id: [SQLiteValue] = [.text(event.origin.hex), .integer(Int64(bitPattern: event.seq))]
        try connection.cached("DELETE FROM awaited_parents WHERE origin = ? AND seq = ?").run(id)
        if connection.changes == 0 {
            try connection.cached("INSERT OR IGNORE INTO stream_heads (stream, origin, seq) VALUES (?, ?, ?)").run([stream] + id)
        }
        heldThrough[event.origin] = event.seq
    }

    private mutating func isHeld(_ id: EventID) throws -> Bool {
        if let seq = heldThrough[id.origin] { return id.seq <= seq }
        let seq = UInt64(clamping: try connection.scalarInt("SELECT max(seq) FROM events WHERE origin = ?", [.text(id.origin.hex)]) ?? 0)
        heldThrough[id.origin] = seq
        return id.seq <= seq
    }
}
