import ConcordCore
import ConcordProjections
import ConcordStorage

/// The SQLite driver's rows for `Ingest`, on the writer connection inside its `BEGIN IMMEDIATE`
/// transaction (the write lock excludes every other writer, of this process or another, so
/// `lock` has nothing to do). Every statement is prepared once and cached on the connection.
struct SQLiteIngestTransaction: IngestTransaction {
    let connection: SQLiteConnection
    /// What the transaction keeps between calls, in one allocation: stream versions, read once
    /// a stream and then counted here; the insert of recorded events, prepared at the first; and
    /// the bytes it reads texts from.
    private let kept = Box<Kept>(Kept())

    struct Kept {
        var versions: [StreamID: Int] = [:]
        var recordedInsert: SQLiteStatement?
        var scratch: [UInt8] = []
    }

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    final class Box<Value> {
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    // MARK: Reads

    func lock(_ origins: [OriginID]) throws {}

    func originCountAndTrustMode() throws -> (origins: Int, trustMode: TrustMode) { (try originCount(), try SQLiteEventStore.trustMode(connection)) }

    private func holds(_ sql: String, _ origin: OriginID) throws -> Bool {
        let statement = try connection.cached(sql)
        defer { statement.reset() }
        try statement.bind(1, origin.hex)
        return try statement.step()
    }

    func isOnRoster(_ origin: OriginID) throws -> Bool { try holds("SELECT 1 FROM trusted_origins WHERE origin = ?", origin) }
    func isOwnOrigin(_ origin: OriginID) throws -> Bool { try holds("SELECT 1 FROM incarnations WHERE origin = ?", origin) }

    func headAndKey(of origin: OriginID) throws -> (head: (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)?, key: OriginKey?) {
        (try head(of: origin), try key(of: origin))
    }

    func key(of origin: OriginID) throws -> OriginKey? { try SQLiteEventStore.storedKey(connection, origin) }

    func hashes(of origin: OriginID, seqs: [UInt64]) throws -> [UInt64: EventHash] {
        var hashes: [UInt64: EventHash] = [:]
        for seq in seqs {
            if let hash = try SQLiteEventStore.storedHash(connection, EventID(origin: origin, seq: seq)) { hashes[seq] = hash }
        }
        return hashes
    }

    func originCount() throws -> Int { Int(try connection.scalarInt("SELECT count(*) FROM origins") ?? 0) }

    func keyOnlyOriginCount() throws -> Int {
        Int(try connection.scalarInt("SELECT count(*) FROM origins o WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.origin = o.origin)") ?? 0)
    }

    func hasForkProof(of origin: OriginID) throws -> Bool { try holds("SELECT 1 FROM fork_proofs WHERE origin = ? LIMIT 1", origin) }

    // MARK: Writes

    func insertKey(_ key: OriginKey, at now: Int64) throws {
        try connection.cached("INSERT OR IGNORE INTO origins (origin, public_key, first_seen) VALUES (?, ?, ?)")
            .run([.text(key.origin.hex), .blob(key.publicKey), .integer(now)])
    }

    func insertEvents(_ events: [Event], at now: Int64) throws -> (streamVersions: [Int], pendingErasures: [(target: EventID, erasure: EventID)]) {
        (try insertEventRows(events, at: now), try takePendingErasures(Self.seqRanges(of: events)))
    }

    private func insertEventRows(_ events: [Event], at now: Int64) throws -> [Int] {
        let insert = try connection.cached(SQLiteEventStore.insertEventSQL)
        var heads = HeadMover(connection)
        var scratch: [UInt8] = []
        var assigned: [Int] = []
        assigned.reserveCapacity(events.count)
        for event in events {
            let version = try StreamVersions.next(of: event.stream, after: kept.value.versions[event.stream] ?? SQLiteEventStore.streamVersion(connection, event.stream))
            kept.value.versions[event.stream] = version
            try SQLiteEventStore.bindInsert(insert, event, streamVersion: version, storedAt: now, scratch: &scratch)
            try heads.moveHeads(for: event)
            assigned.append(version)
        }
        return assigned
    }

    func insertSeals(_ seals: [Seal], at now: Int64) throws {
        for seal in seals { try SQLiteEventStore.insertSeal(connection, seal, at: now) }
    }

    func fillOpenings(_ events: [Event]) throws -> [StreamID] {
        guard !events.isEmpty else { return [] }
        let update = try connection.cached("""
            UPDATE events SET actor = ?, causation_id = ?, correlation_id = ?, data = ?, salt = ?, disclosure = 0
            WHERE origin = ? AND seq = ? AND disclosure = 1 AND commitment = ? AND hash = ?
            RETURNING stream
            """)
        var streams: [StreamID] = []
        for event in events {
            try update.bind([
                .text(event.actor), event.causationID.map { .text($0) } ?? .null, event.correlationID.map { .text($0) } ?? .null,
                .text(event.payload), .blob(event.salt), .text(event.origin.hex), .integer(Int64(bitPattern: event.seq)),
                .blob(event.commitment!.bytes), .blob(event.hash.bytes),
            ])
            // The stored row's stream, not the line's, is refolded.
            while try update.step() { streams.append(StreamID(unchecked: update.text(0))) }
            update.reset()
        }
        return streams
    }

    func eraseOpenings(_ targets: [EventID], by erasure: EventID) throws -> (erased: [StreamID], unheld: [EventID]) {
        let update = try connection.cached("""
            UPDATE events SET actor = '', causation_id = NULL, correlation_id = NULL, data = '{}', salt = NULL, disclosure = 2, erased_by = ?
            WHERE origin = ? AND seq = ? AND commitment IS NOT NULL AND type <> ? AND disclosure <> 2
            RETURNING stream
            """)
        // Until the WAL is truncated after the commit, copies of the erased bytes may sit in it:
        // a process killed before then leaves this mark, and the next open scrubs.
        try connection.cached("INSERT OR REPLACE INTO settings (name, value) VALUES ('scrub_pending', '1')").run([])
        var erased: [StreamID] = []
        var unheld: [EventID] = []
        for target in targets {
            try update.bind([.text(erasure.description), .text(target.origin.hex), .integer(Int64(bitPattern: target.seq)), .text(Erasure.eventType)])
            var touched = false
            while try update.step() {
                erased.append(StreamID(unchecked: update.text(0)))
                touched = true
            }
            update.reset()
            if !touched, try SQLiteEventStore.storedHash(connection, target) == nil { unheld.append(target) }
        }
        return (erased, unheld)
    }

    func addPendingErasures(_ targets: [EventID], by erasure: EventID) throws {
        let insert = try connection.cached("INSERT OR IGNORE INTO pending_erasures (origin, seq, erased_by) VALUES (?, ?, ?)")
        for target in targets {
            insert.reset()
            try insert.run([.text(target.origin.hex), .integer(Int64(bitPattern: target.seq)), .text(erasure.description)])
        }
    }

    private func takePendingErasures(_ ranges: [(origin: OriginID, seqs: ClosedRange<UInt64>)]) throws -> [(target: EventID, erasure: EventID)] {
        let pending = try connection.cached("SELECT seq, erased_by FROM pending_erasures WHERE origin = ? AND seq BETWEEN ? AND ?")
        var found: [(target: EventID, erasure: EventID)] = []
        for (origin, seqs) in ranges {
            try pending.bind([.text(origin.hex), .integer(Int64(bitPattern: seqs.lowerBound)), .integer(Int64(bitPattern: seqs.upperBound))])
            while try pending.step() {
                if let erasure = try? EventID(parsing: pending.text(1)) {
                    found.append((EventID(origin: origin, seq: UInt64(bitPattern: pending.int64(0))), erasure))
                }
            }
            pending.reset()
        }
        let forget = try connection.cached("DELETE FROM pending_erasures WHERE origin = ? AND seq = ?")
        for (target, _) in found {
            forget.reset()
            try forget.run([.text(target.origin.hex), .integer(Int64(bitPattern: target.seq))])
        }
        return found
    }

    func markForRefold(_ streams: Set<StreamID>) throws {
        for stream in streams { try SQLiteEventStore.markForRefold(stream, connection) }
    }

    func bumpOpeningsGeneration() throws { try SQLiteEventStore.bumpOpeningsGeneration(connection) }

    func hasResolvedShareRules() throws -> Bool {
        try connection.scalarInt("SELECT 1 FROM share_rules WHERE \(SharingGrants.resolvedRulesFilter) LIMIT 1") != nil
    }

    func insertForkProof(_ proof: ForkProof, lines: String, source: String, at now: Int64) throws {
        try connection.cached("INSERT OR IGNORE INTO fork_proofs (origin, seq, held_hash, offered_hash, proof, source, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .run([
                .text(proof.origin.hex), .integer(Int64(bitPattern: proof.seq)), .blob(proof.heldHash.bytes), .blob(proof.offeredHash.bytes),
                .text(lines), .text(source), .integer(now),
            ])
    }

    func catchUpReadModels() throws {
        if try SQLiteEventStore.projectionCheckpoint(connection).version != nil { _ = try SQLiteEventStore.catchUp(connection) }
    }

    /// Commits signal this process's `CommitSignal` after the transaction; other processes see
    /// them through the WAL (`OtherProcessCommitWatcher`).
    func announceCommit() throws {}

    // MARK: Checkpoints

    var keepsCheckpoints: Bool { true }

    func newestCheckpoint(of signer: OriginID) throws -> Checkpoint? {
        try SQLiteEventStore.checkpoints(connection, where: "signer = ? ORDER BY number DESC LIMIT 1", [.text(signer.hex)]).first
    }

    func insertCheckpoint(_ checkpoint: Checkpoint, at now: Int64) throws -> Bool {
        try SQLiteEventStore.insert(checkpoint, connection, at: now)
    }
}

extension SQLiteIngestTransaction: CheckpointTransaction {
    /// One lookup an origin on the `(origin, seq)` key, walking the origins as a skip scan.
    func heads() throws -> [Checkpoint.Head] {
        var heads: [Checkpoint.Head] = []
        let head = try connection.cached("SELECT seq, hash FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
        defer { head.reset() }
        for origin in try SQLiteEventStore.distinctOrigins(connection) {
            head.reset()
            try head.bind(1, origin.hex)
            guard try head.step(), head.int64(0) > 0 else { continue }
            heads.append(Checkpoint.Head(origin: origin, seq: UInt64(head.int64(0)), hash: EventHash(bytes: head.blob(1))))
        }
        return heads
    }

    func checkpointNumbers() throws -> [OriginID: UInt64] {
        try SQLiteEventStore.checkpointNumbersUnlocked(connection)
    }

    func checkpoints(of signer: OriginID, after: UInt64, limit: Int) throws -> [(number: UInt64, line: String, checkpoint: Checkpoint)] {
        try SQLiteEventStore.checkpointLines(connection, signer: signer, after: after, limit: limit).map { ($0.0, $0.1, $0.2) }
    }

    func checkpointSigners(named node: String) throws -> [OriginID] {
        try SQLiteEventStore.signers(connection, "SELECT DISTINCT signer FROM checkpoints WHERE node = ?", [.text(node)])
    }

    func checkpointSigners(withPrefix prefix: String) throws -> [OriginID] {
        try SQLiteEventStore.signers(connection, "SELECT DISTINCT signer FROM checkpoints WHERE signer >= ? AND signer < ?", [.text(prefix), .text(prefix + "g")])
    }

    func newestCheckpoint(of signer: OriginID, takenAtOrBefore time: Int64) throws -> Checkpoint? {
        try SQLiteEventStore.checkpoints(connection, where: "signer = ? AND taken_at <= ? ORDER BY taken_at DESC, number DESC LIMIT 1", [.text(signer.hex), .integer(time)]).first
    }
}

extension SQLiteIngestTransaction: AppendTransaction {
    func newestStamp(atOrBelow bound: HLCTimestamp?) throws -> HLCTimestamp? {
        let newest = if let bound {
            try connection.scalarInt("SELECT max(hlc) FROM events WHERE hlc <= ?", [.integer(bound.packed)])
        } else {
            try connection.scalarInt("SELECT max(hlc) FROM events")
        }
        return newest.map(HLCTimestamp.init(packed:))
    }

    func stamp(of event: EventID) throws -> HLCTimestamp? {
        try connection.scalarInt("SELECT hlc FROM events WHERE origin = ? AND seq = ?", [.text(event.origin.hex), .integer(Int64(bitPattern: event.seq))])
            .map(HLCTimestamp.init(packed:))
    }

    func versionAndHeads(of stream: StreamID) throws -> (version: Int, heads: [EventID]) {
        let statement = try connection.cached("SELECT origin, seq FROM stream_heads WHERE stream = ? ORDER BY origin, seq")
        defer { statement.reset() }
        try statement.bind(1, stream.rawValue)
        var heads: [EventID] = []
        while try statement.step() {
            heads.append(EventID(origin: OriginID(unchecked: statement.text(0)), seq: UInt64(bitPattern: statement.int64(1))))
        }
        return (try SQLiteEventStore.streamVersion(connection, stream), heads)
    }

    func insertRecorded(_ event: Event, streamVersion: Int, at now: Int64) throws -> Int64 {
        let insert = try kept.value.recordedInsert ?? connection.cached(SQLiteEventStore.insertEventSQL)
        kept.value.recordedInsert = insert
        try SQLiteEventStore.bindInsert(insert, event, streamVersion: streamVersion, storedAt: now, scratch: &kept.value.scratch)
        return sqlite3LastInsertRowID(connection)
    }

    /// The write lock (`BEGIN IMMEDIATE`) excludes every other writer already.
    func lockForRecording(_ origin: OriginID) throws {}

    func head(of origin: OriginID) throws -> (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)? {
        let head = try connection.cached("SELECT seq, hash, hlc FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
        defer { head.reset() }
        try head.bind(1, origin.hex)
        return try head.step() ? (UInt64(bitPattern: head.int64(0)), EventHash(bytes: head.blob(1)), HLCTimestamp(packed: head.int64(2))) : nil
    }

    func insertSeal(_ seal: Seal, at now: Int64) throws { try SQLiteEventStore.insertSeal(connection, seal, at: now) }

    func replaceHeads(of stream: StreamID, with heads: [EventID]) throws {
        let delete = try connection.cached("DELETE FROM stream_heads WHERE stream = ?")
        try delete.run([.text(stream.rawValue)])
        delete.reset()
        let insert = try connection.cached("INSERT INTO stream_heads (stream, origin, seq) VALUES (?, ?, ?)")
        for head in heads {
            try insert.run([.text(stream.rawValue), .text(head.origin.hex), .integer(Int64(bitPattern: head.seq))])
            insert.reset()
        }
    }
}
