import ConcordCore

extension SQLiteEventStore {
    /// Stores events of any origin after verifying them, all or nothing, in one transaction.
    ///
    /// For each origin: its key must hash to the origin id; events this node already holds must
    /// be identical (a different event for a held `(origin, seq)` is a fork, refused); new events
    /// must continue the stored chain with no gap, each hash must match its content and link to
    /// the previous one, and the last new event must be covered by a seal in the batch whose
    /// signature verifies. Every seal in the batch for a new event is verified too.
    @discardableResult
    public func ingest(_ batch: IngestBatch, source: String = "import") throws -> IngestResult {
        do {
            return try ingestVerified(batch)
        } catch let fork as ForkDetected {
            try recordFork(fork, source: source)
            throw ConcordError(
                .fork,
                "fork: origin \(fork.offered.origin) seq \(fork.offered.seq) is held here with another hash; the offered event is refused and kept as evidence (concord status)"
            )
        }
    }

    /// A different event offered for a held `(origin, seq)`.
    struct ForkDetected: Error {
        var offered: Event
        var heldHash: EventHash
    }

    private func recordFork(_ fork: ForkDetected, source: String) throws {
        try withConnection("record fork evidence") { state in
            try state.connection.cached("INSERT OR IGNORE INTO forks (origin, seq, held_hash, offered_hash, offered, source, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .run([
                    .text(fork.offered.origin.hex), .integer(Int64(fork.offered.seq)), .blob(fork.heldHash.bytes),
                    .blob(fork.offered.hash.bytes), .text(fork.offered.exchangeJSON), .text(source), .integer(Timestamp.nowMillis()),
                ])
        }
    }

    /// Fork evidence this node has kept: `(origin, seq, source, detected at)`.
    public func forks() throws -> [(event: EventID, source: String, detectedAt: Int64)] {
        try withConnection("read fork evidence") { state in
            let statement = try state.connection.prepare("SELECT origin, seq, source, detected_at FROM forks ORDER BY origin, seq")
            var result: [(EventID, String, Int64)] = []
            while try statement.step() {
                result.append((EventID(origin: OriginID(unchecked: statement.text(0)), seq: UInt64(statement.int64(1))), statement.text(2), statement.int64(3)))
            }
            return result
        }
    }

    private func ingestVerified(_ batch: IngestBatch) throws -> IngestResult {
        try withConnection("store \(batch.events.count) event(s)") { state in
            let connection = state.connection
            return try connection.transaction {
                var keys: [OriginID: OriginKey] = [:]
                for key in try Self.storedKeys(connection) { keys[key.origin] = key }
                var newKeys: [OriginKey] = []
                let trust = try TrustPolicy(connection)
                // In strict mode the keys of origins off the roster are not kept (their events are refused).
                for key in batch.keys where try keys[key.origin] == nil && trust.accepts(key.origin) {
                    guard key.keyMatchesOrigin else {
                        throw ConcordError(.invalidEvent, "the public key offered for origin \(key.origin) does not hash to that origin")
                    }
                    keys[key.origin] = key
                    newKeys.append(key)
                }
                var sealsByOrigin: [OriginID: [UInt64: Seal]] = [:]
                for seal in batch.seals { sealsByOrigin[seal.origin, default: [:]][seal.seq] = seal }

                var toInsert: [Event] = []
                var alreadyHeld = 0
                var sealsToStore: [Seal] = []
                let byOrigin = Dictionary(grouping: batch.events, by: \.origin)
                try trust.check(byOrigin.keys)
                for origin in byOrigin.keys.sorted() {
                    guard let key = keys[origin] else {
                        throw ConcordError(.invalidEvent, "no public key for origin \(origin); the batch must carry it")
                    }
                    let events = byOrigin[origin]!.sorted { $0.seq < $1.seq }
                    let head = try Self.originHead(connection, origin)
                    var lastSeq = head.seq
                    var lastHash = head.hash
                    var newSeqs: [UInt64] = []
                    for event in events {
                        if event.seq <= head.seq {
                            guard let held = try Self.storedHash(connection, event.id) else { continue }
                            guard held == event.hash else {
                                // Only a correctly hashed and signed offer is evidence of a fork; anything else is just bad input.
                                guard event.computeHash() == event.hash else {
                                    throw ConcordError(.invalidEvent, "event \(event.id) does not match its hash: its content was altered")
                                }
                                throw ForkDetected(offered: event, heldHash: held)
                            }
                            alreadyHeld += 1
                            continue
                        }
                        guard event.seq == lastSeq + 1 else {
                            throw ConcordError(.invalidEvent, "gap in origin \(origin): seq \(event.seq) offered after seq \(lastSeq)")
                        }
                        guard event.computeHash() == event.hash else {
                            throw ConcordError(.invalidEvent, "event \(event.id) does not match its hash: its content was altered")
                        }
                        guard event.prevHash == lastHash else {
                            throw ConcordError(.invalidEvent, "event \(event.id) does not link to the hash of seq \(lastSeq)")
                        }
                        toInsert.append(event)
                        newSeqs.append(event.seq)
                        lastSeq = event.seq
                        lastHash = event.hash
                    }
                    guard !newSeqs.isEmpty else { continue }
                    let hashes = Dictionary(uniqueKeysWithValues: toInsert.suffix(newSeqs.count).map { ($0.seq, $0.hash) })
                    guard sealsByOrigin[origin]?[lastSeq] != nil else {
                        throw ConcordError(.invalidEvent, "no seal covers origin \(origin) up to seq \(lastSeq); unsigned events are refused")
                    }
                    for seq in newSeqs {
                        guard let seal = sealsByOrigin[origin]?[seq] else { continue }
                        guard seal.hash == hashes[seq], key.verify(seal) else {
                            throw ConcordError(.invalidEvent, "the seal of event \(origin):\(seq) does not verify with the origin's key")
                        }
                        sealsToStore.append(seal)
                    }
                }

                let now = options.clock()
                for key in newKeys {
                    try connection.cached("INSERT INTO origins (origin, public_key, first_seen) VALUES (?, ?, ?)")
                        .run([.text(key.origin.hex), .blob(key.publicKey), .integer(now)])
                }
                let insert = try connection.cached(Self.insertEventSQL)
                var heads = HeadMover(connection)
                var scratch: [UInt8] = []
                // Stream versions are read once a stream, then counted here for the rest of the batch.
                var versions: [StreamID: Int] = [:]
                for event in toInsert {
                    let version = try (versions[event.stream] ?? Self.streamVersion(connection, event.stream)) + 1
                    versions[event.stream] = version
                    try Self.bindInsert(insert, event, streamVersion: version, storedAt: now, scratch: &scratch)
                    try heads.moveHeads(for: event)
                }
                for seal in sealsToStore { try Self.insertSeal(connection, seal, at: now) }
                return IngestResult(inserted: toInsert.count, alreadyHeld: alreadyHeld)
            }
        }
    }

    /// The events a peer with vector `have` lacks, at most about `maxEvents`, in `(origin, seq)`
    /// order, with the keys and seals that verify them. Each origin's run ends on a sealed seq so
    /// the peer can verify it. `more` says whether anything is still missing after this batch.
    public func missingBatch(have: VersionVector, maxEvents: Int) throws -> (batch: IngestBatch, more: Bool) {
        let local = try versionVector()
        var batch = IngestBatch()
        var budget = max(maxEvents, 1)
        var more = false
        let keys = Dictionary(uniqueKeysWithValues: try originKeys().map { ($0.origin, $0) })
        for (origin, highest) in local.sorted where have[origin] < highest {
            guard budget > 0 else { more = true; break }
            let after = have[origin]
            let seals = try self.seals(of: origin).filter { $0.seq > after }
            // The furthest seal within budget; if the next seal lies beyond it, that one (a
            // commit sealed less often than the budget must still travel whole).
            guard let end = seals.last(where: { $0.seq <= after + UInt64(budget) })?.seq ?? seals.first?.seq else { continue }
            let events = try readOrigin(origin, afterSeq: after, limit: Int(end - after)).map(\.event)
            guard !events.isEmpty else { continue }
            if let key = keys[origin] { batch.keys.append(key) }
            batch.events += events
            batch.seals += seals.filter { $0.seq <= end }
            budget -= events.count
            if end < highest { more = true }
        }
        return (batch, more)
    }

    /// Everything this node holds, in the exchange order: keys, then each origin's events by seq
    /// with each seal after the event it covers.
    public func exportBatches(batchSize: Int = 10_000, _ body: (IngestBatch) throws -> Void) throws {
        try body(IngestBatch(keys: try originKeys()))
        for origin in try eventOrigins() {
            let seals = try self.seals(of: origin)
            var after: UInt64 = 0
            while true {
                let events = try readOrigin(origin, afterSeq: after, limit: batchSize).map(\.event)
                guard let last = events.last else { break }
                let covered = seals.filter { $0.seq > after && $0.seq <= last.seq }
                try body(IngestBatch(events: events, seals: covered))
                after = last.seq
            }
        }
    }

    static func storedKeys(_ connection: SQLiteConnection) throws -> [OriginKey] {
        let statement = try connection.cached("SELECT origin, public_key FROM origins")
        var keys: [OriginKey] = []
        while try statement.step() { keys.append(OriginKey(origin: OriginID(unchecked: statement.text(0)), publicKey: statement.blob(1))) }
        return keys
    }

    static func originHead(_ connection: SQLiteConnection, _ origin: OriginID) throws -> (seq: UInt64, hash: EventHash) {
        let statement = try connection.cached("SELECT seq, hash FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
        try statement.bind(1, origin.hex)
        guard try statement.step() else { return (0, .genesis) }
        return (UInt64(statement.int64(0)), EventHash(bytes: statement.blob(1)))
    }

    static func storedHash(_ connection: SQLiteConnection, _ id: EventID) throws -> EventHash? {
        let statement = try connection.cached("SELECT hash FROM events WHERE origin = ? AND seq = ?")
        try statement.bind([.text(id.origin.hex), .integer(Int64(id.seq))])
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
                    .run([stream, .text(parent.origin.hex), .integer(Int64(parent.seq))])
            } else {
                try connection.cached("INSERT OR IGNORE INTO awaited_parents (origin, seq, stream) VALUES (?, ?, ?)")
                    .run([.text(parent.origin.hex), .integer(Int64(parent.seq)), stream])
            }
        }
        let id: [SQLiteValue] = [.text(event.origin.hex), .integer(Int64(event.seq))]
        try connection.cached("DELETE FROM awaited_parents WHERE origin = ? AND seq = ?").run(id)
        if connection.changes == 0 {
            try connection.cached("INSERT OR IGNORE INTO stream_heads (stream, origin, seq) VALUES (?, ?, ?)").run([stream] + id)
        }
        heldThrough[event.origin] = event.seq
    }

    private mutating func isHeld(_ id: EventID) throws -> Bool {
        if let seq = heldThrough[id.origin] { return id.seq <= seq }
        let seq = UInt64(try connection.scalarInt("SELECT max(seq) FROM events WHERE origin = ?", [.text(id.origin.hex)]) ?? 0)
        heldThrough[id.origin] = seq
        return id.seq <= seq
    }
}
