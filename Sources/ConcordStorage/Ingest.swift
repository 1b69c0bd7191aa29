import ConcordCore

/// Taking in events from elsewhere (a sync batch, an import), written once for every store: the
/// steps, their order and every decision between them. The verdict on each origin's part is
/// `BatchVerifier`'s; a store's driver (`IngestTransaction`) only reads and writes rows, inside
/// the one transaction the whole run happens in.
///
/// The steps: lock the batch's origins (in origin order), read each one's state (head, key,
/// the held hashes the batch names, whether trust accepts it), let `BatchVerifier` judge every
/// part; keep any fork proof; with `.allOrNothing` and a refusal, store nothing more. Else
/// check the checkpoints (refusing an import with a bad one, leaving it out of a sync), then
/// store: the keys first seen, the events (each erasure among them applied, and what pending
/// erasures named of them), the seals, the late openings last; note what may widen region and
/// meeting grants; keep the checkpoints that say something true of the store; refold in the
/// same transaction what an erasure or an opening changed.
public enum Ingest {
    /// Origins a sync may add that wrote no event the store holds (a hub that only relays),
    /// for their checkpoints: a peer cannot fill the cap on origins with signers of nothing.
    public static let maxKeyOnlySigners = 100

    public static func run(
        _ batch: IngestBatch, source: String, policy: IngestPolicy, now: Int64,
        widensGrants: (Event, _ streamVersion: Int) -> Bool, in tx: some IngestTransaction
    ) throws -> IngestResult {
        let parts = BatchVerifier.parts(of: batch)
        try tx.lock(parts.map(\.origin))
        var states: [OriginID: OriginState] = [:]
        for part in parts {
            var state = OriginState()
            let (head, key) = try tx.headAndKey(of: part.origin)
            if let head {
                state.head = head.seq
                state.headHash = head.hash
                state.headHLC = head.hlc
            }
            state.key = key
            let wanted = BatchVerifier.seqsToLookUp(events: part.events, seals: part.seals, head: state.head)
            if !wanted.isEmpty { state.heldHashes = try tx.hashes(of: part.origin, seqs: Array(Set(wanted)).sorted()) }
            states[part.origin] = state
        }
        // Every vector names every origin a node holds: past the cap it would not fit a request.
        let (originsHeld, mode) = try tx.originCountAndTrustMode()
        for part in parts { states[part.origin]?.trusted = try accepts(part.origin, mode: mode, tx) }
        let (plans, refused) = BatchVerifier(now: now).verify(parts, states: states, originsHeld: originsHeld)
        for proof in refused.compactMap(\.proof) { try keepForkProof(proof, source: source, at: now, in: tx) }
        if policy == .allOrNothing, !refused.isEmpty {
            // Nothing of the batch is stored; the fork evidence (if any) is.
            return IngestResult(inserted: 0, alreadyHeld: 0, refused: refused)
        }
        // A checkpoint that does not verify refuses an import before anything is stored (after
        // the events' own verdicts, which name what is wrong with them first); in a sync it is
        // left out, like a refused origin's part, and the rest is stored.
        let checkpoints = try validate(batch.checkpoints, offeredKeys: batch.keys, now: now, dropping: policy == .setAside, tx)
        if plans.contains(where: { !$0.events.isEmpty || !$0.openings.isEmpty }) { try tx.announceCommit() }
        var result = IngestResult(inserted: 0, alreadyHeld: plans.reduce(0) { $0 + $1.alreadyHeld }, refused: refused)
        try store(plans, at: now, widensGrants: widensGrants, into: &result, tx)
        result.checkpointsRefused = checkpoints.refused
        if tx.keepsCheckpoints {
            // An import is a copy and keeps every claim; a sync keeps only what it now holds.
            result.checkpointsStored = try keep(checkpoints.valid, offeredKeys: batch.keys, fromPeer: policy == .setAside, mode: mode, at: now, tx)
        }
        // Erased openings leave the read models in the same transaction, and openings that
        // arrived enter them: at every commit the read models are the fold of the log up to where
        // they stand (what concord verify checks).
        if result.openingsErased > 0 || result.openingsStored > 0 { try tx.catchUpReadModels() }
        return result
    }

    /// Stores a peer's late openings (the openings exchange): each of a stub held here that it
    /// matches (`BatchVerifier.lateOpeningProblem`); the others are ignored, never stored.
    /// Returns how many were stored and how many ignored.
    public static func storeLateOpenings(_ events: [Event], in tx: some IngestTransaction) throws -> (stored: Int, ignored: Int) {
        var valid: [Event] = []
        for event in events {
            let held = try tx.hashes(of: event.origin, seqs: [event.seq])[event.seq]
            if BatchVerifier.lateOpeningProblem(event, heldHash: held) == nil { valid.append(event) }
        }
        let stored = try fillOpenings(valid, tx)
        if stored > 0 {
            try tx.announceCommit()
            try tx.catchUpReadModels()
        }
        return (stored, events.count - stored)
    }

    // MARK: Steps

    static func accepts(_ origin: OriginID, mode: TrustMode, _ tx: some IngestTransaction) throws -> Bool {
        guard mode == .strict else { return true }
        return mode.accepts(onRoster: try tx.isOnRoster(origin), ownOrigin: try tx.isOwnOrigin(origin))
    }

    /// One proof an origin is enough to show its key signed two histories: keeping every one a
    /// forger offers would let it grow the store without end. A fork is only found at a held
    /// seq, so the origin's key is held.
    public static func keepForkProof(_ proof: ForkProof, source: String, at now: Int64, in tx: some IngestTransaction) throws {
        guard try !tx.hasForkProof(of: proof.origin), let key = try tx.key(of: proof.origin) else { return }
        try tx.insertForkProof(proof, lines: proof.exchangeLines(key: key), source: source, at: now)
    }

    /// Keeps another store's fork proofs (`concord copy` moves a hub's evidence) that hold here:
    /// each checked again against the origin's key and the event held at its seq
    /// (`KeptForkProof.holds`), one an origin. Returns how many were kept.
    public static func restoreForkProofs(_ proofs: [KeptForkProof], in tx: some IngestTransaction) throws -> Int {
        var kept = 0
        for entry in proofs {
            let proof = entry.proof
            let held = try tx.hashes(of: proof.origin, seqs: [proof.seq])[proof.seq]
            guard try !tx.hasForkProof(of: proof.origin), entry.holds(key: try tx.key(of: proof.origin), heldHash: held) else { continue }
            try keepForkProof(proof, source: entry.source, at: entry.detectedAt, in: tx)
            kept += 1
        }
        return kept
    }

    /// The plans' rows, in the one order every driver takes its locks in: keys first seen, seals
    /// (they name events by origin, seq and hash, no reference a database checks, and the
    /// transaction holds their origins' locks), events (positions and stream versions, with
    /// whatever the driver keeps beside them: PostgreSQL's position row, held to the commit), the
    /// erasures among them and the pending erasures of them, and the late openings last (rows a
    /// writer holding the position row may also take: taken after it, never before).
    static func store(
        _ plans: [OriginPlan], at now: Int64, widensGrants: (Event, Int) -> Bool, into result: inout IngestResult, _ tx: some IngestTransaction
    ) throws {
        // Only origins with something stored get their key recorded.
        for plan in plans where !plan.events.isEmpty || !plan.seals.isEmpty {
            if let key = plan.newKey { try tx.insertKey(key, at: now) }
        }
        try tx.insertSeals(plans.flatMap(\.seals), at: now)
        let events = plans.flatMap(\.events)
        if !events.isEmpty {
            let (versions, pending) = try tx.insertEvents(events, at: now)
            result.inserted = events.count
            var grantsMayWiden = false
            for (event, version) in zip(events, versions) {
                if !grantsMayWiden { grantsMayWiden = widensGrants(event, version) }
                // Verified by `BatchVerifier`: an erasure here is one every node applies.
                if let erasure = try Erasure.recorded(by: event) { result.openingsErased += try applyErasure(erasure, by: event.id, in: tx) }
            }
            // What held erasures named of these events before they arrived.
            for (target, erasure) in pending {
                result.openingsErased += try applyErasure(Erasure(targets: [target], reason: "pending"), by: erasure, in: tx)
            }
            if grantsMayWiden, try tx.hasResolvedShareRules() { try tx.bumpOpeningsGeneration() }
        }
        result.openingsStored = try fillOpenings(plans.flatMap(\.openings), tx)
    }

    /// Destroys what an erasure names, in the transaction that stores it; the events of an
    /// earlier incarnation it names that are not held yet are erased as they arrive.
    public static func applyErasure(_ erasure: Erasure, by id: EventID, in tx: some IngestTransaction) throws -> Int {
        let (erased, unheld) = try tx.eraseOpenings(erasure.targets, by: id)
        try tx.markForRefold(Set(erased))
        let pending = unheld.filter { $0.origin != id.origin }
        if !pending.isEmpty { try tx.addPendingErasures(pending, by: id) }
        return erased.count
    }

    static func fillOpenings(_ openings: [Event], _ tx: some IngestTransaction) throws -> Int {
        let filled = try tx.fillOpenings(openings.filter { $0.disclosure == .full && $0.commitment != nil })
        guard !filled.isEmpty else { return 0 }
        try tx.markForRefold(Set(filled))
        try tx.bumpOpeningsGeneration()
        return filled.count
    }

    /// A batch's checkpoints that verify (the signer's key held, or offered in the batch;
    /// ranges, order and signature; not more than the clock allowance ahead of this node's
    /// clock). One that fails throws, naming it; with `dropping` (a sync) it is left out and
    /// counted instead.
    static func validate(
        _ checkpoints: [Checkpoint], offeredKeys: [OriginKey], now: Int64, dropping: Bool, _ tx: some IngestTransaction
    ) throws -> (valid: [Checkpoint], refused: Int) {
        guard !checkpoints.isEmpty else { return ([], 0) }
        let offered = Dictionary(offeredKeys.map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
        var valid: [Checkpoint] = []
        for checkpoint in checkpoints {
            do {
                guard let key = try tx.key(of: checkpoint.signer) ?? offered[checkpoint.signer] else {
                    throw ConcordError(.invalidEvent, "checkpoint \(checkpoint.number) of \(checkpoint.signer): no key of its signer is held or offered")
                }
                try checkpoint.validate(key: key)
                guard checkpoint.takenAt <= now + EventLimits.maxClockAheadMillis else {
                    throw ConcordError(.clockAhead, "checkpoint \(checkpoint.number) of \(checkpoint.signer) is dated \(Timestamp.iso8601(millis: checkpoint.takenAt)), later than this node's clock allows")
                }
                valid.append(checkpoint)
            } catch let error as ConcordError where dropping && error.code != .storage {
                continue
            }
        }
        return (valid, checkpoints.count - valid.count)
    }

    /// Keeps validated checkpoints (after the batch's events); returns how many were kept.
    ///
    /// A sync (`fromPeer`) keeps a checkpoint only when it says something true of this store: it
    /// is on the roster in strict trust mode (a signer that wrote no event held here is known by
    /// its key alone, one of at most `maxKeyOnlySigners`), this store holds every head it names
    /// with the very hash it names (a node merely behind must not hold a claim it cannot meet,
    /// which is what a cut tail looks like, and no peer can plant a claim of another history on
    /// an honest copy), and it differs from the signer's newest held. Otherwise it comes again,
    /// or not, with a later sync. An import keeps every claim (a file is a copy, and a copy that
    /// holds less than its checkpoints name has lost events), with the key of a signer that wrote
    /// no event while the store has room for origins from elsewhere.
    static func keep(
        _ checkpoints: [Checkpoint], offeredKeys: [OriginKey], fromPeer: Bool, mode: TrustMode, at now: Int64, _ tx: some IngestTransaction
    ) throws -> Int {
        let offered = Dictionary(offeredKeys.map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
        var kept = 0
        for checkpoint in checkpoints {
            let keyHeld = try tx.key(of: checkpoint.signer) != nil
            if fromPeer {
                guard try accepts(checkpoint.signer, mode: mode, tx), try holdsExactly(checkpoint, tx) else { continue }
                if let newest = try tx.newestCheckpoint(of: checkpoint.signer), newest.heads == checkpoint.heads { continue }
            }
            if !keyHeld {
                guard let key = offered[checkpoint.signer] else { continue }
                let keyOnly = fromPeer ? try tx.keyOnlyOriginCount() : 0
                guard try tx.originCount() < EventLimits.maxReceivedOrigins, keyOnly < maxKeyOnlySigners else { continue }
                try tx.insertKey(key, at: now)
            }
            if try tx.insertCheckpoint(checkpoint, at: now) { kept += 1 }
        }
        return kept
    }

    /// Whether the store holds each head the checkpoint names, with the hash it names.
    static func holdsExactly(_ checkpoint: Checkpoint, _ tx: some IngestTransaction) throws -> Bool {
        for head in checkpoint.heads {
            guard try tx.hashes(of: head.origin, seqs: [head.seq])[head.seq] == head.hash else { return false }
        }
        return true
    }
}

extension IngestResult {
    /// Whether the commit that stored this destroyed openings (the driver then scrubs: SQLite's
    /// WAL, PostgreSQL's dead row versions).
    public var erasedOpenings: Bool { openingsErased > 0 }
    /// Whether the commit stored what a long poll or a follower waits for.
    public var storedSomething: Bool { inserted > 0 || openingsStored > 0 }
}
