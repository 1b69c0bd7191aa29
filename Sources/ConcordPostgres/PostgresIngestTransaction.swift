import ConcordCore
import ConcordProjections
import ConcordStorage
import Dispatch
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The PostgreSQL driver's rows for `Ingest`, on one pooled connection inside its `BEGIN` …
/// `COMMIT`. The engine's steps are synchronous: the transaction runs them on a thread of its own
/// (`PostgresEventStore.runBlocking`), and each call here waits there for its queries, which
/// postgres-nio runs on its event loop. Origins are locked with transaction-scoped advisory locks
/// (`lock`), events take the log's position row, held to the commit (`insertEvents`).
struct PostgresIngestTransaction: IngestTransaction {
    let store: PostgresEventStore
    let connection: PostgresConnection
    var logger: Logger { store.logger }

    @discardableResult
    private func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        try PostgresEventStore.wait(body)
    }

    // MARK: Reads

    func lock(_ origins: [OriginID]) throws {
        let (connection, logger) = (self.connection, self.logger)
        try wait {
            for origin in origins {
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresEventStore.originLock(origin)))", logger: logger)
            }
        }
    }

    func originCountAndTrustMode() throws -> (origins: Int, trustMode: TrustMode) {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            let (count, stored) = try await connection.query(
                "SELECT (SELECT count(*) FROM origins), (SELECT value FROM settings WHERE name = 'trust_mode')", logger: logger
            ).decode((Int64, String?).self).first { _ in true } ?? (Int64(0), nil)
            return (Int(count), TrustMode(stored: stored))
        }
    }

    func isOnRoster(_ origin: OriginID) throws -> Bool {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            try await connection.query("SELECT 1 FROM trusted_origins WHERE origin = \(origin.hex)", logger: logger).decode(Int32.self).first { _ in true } != nil
        }
    }

    /// A hub records no events of its own: its one origin is the key it signs checkpoints with.
    func isOwnOrigin(_ origin: OriginID) throws -> Bool { store.checkpointSigner == origin }

    /// In one query: the head (after the origin's lock, in a statement of its own, so its
    /// snapshot sees the last writer's commit) and the key.
    func headAndKey(of origin: OriginID) throws -> (head: (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)?, key: OriginKey?) {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            let rows = try await connection.query("""
                SELECT 'head', h.seq, h.hash, h.hlc FROM (SELECT seq, hash, hlc FROM events WHERE origin = \(origin.hex) ORDER BY seq DESC LIMIT 1) h
                UNION ALL SELECT 'key', NULL, public_key, NULL FROM origins WHERE origin = \(origin.hex)
                """, logger: logger)
            var head: (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)?
            var key: OriginKey?
            for try await (kind, seq, bytes, hlc) in rows.decode((String, Int64?, ByteBuffer, Int64?).self) {
                if kind == "head" {
                    head = (UInt64(bitPattern: seq ?? 0), EventHash(bytes: Array(bytes.readableBytesView)), HLCTimestamp(packed: hlc ?? 0))
                } else {
                    key = OriginKey(origin: origin, publicKey: Array(bytes.readableBytesView))
                }
            }
            return (head, key)
        }
    }

    func key(of origin: OriginID) throws -> OriginKey? {
        let (connection, logger) = (self.connection, self.logger)
        return try wait { try await PostgresEventStore.storedKey(connection, origin, logger: logger) }
    }

    func hashes(of origin: OriginID, seqs: [UInt64]) throws -> [UInt64: EventHash] {
        guard !seqs.isEmpty else { return [:] }
        let (connection, logger) = (self.connection, self.logger)
        let wanted = seqs.map { Int64(bitPattern: $0) }
        return try wait {
            var hashes: [UInt64: EventHash] = [:]
            let rows = try await connection.query("SELECT seq, hash FROM events WHERE origin = \(origin.hex) AND seq = ANY(\(wanted))", logger: logger)
            for try await (seq, hash) in rows.decode((Int64, ByteBuffer).self) {
                hashes[UInt64(bitPattern: seq)] = EventHash(bytes: Array(hash.readableBytesView))
            }
            return hashes
        }
    }

    func originCount() throws -> Int {
        let (connection, logger) = (self.connection, self.logger)
        return try wait { Int(try await connection.query("SELECT count(*) FROM origins", logger: logger).decode(Int64.self).first { _ in true } ?? 0) }
    }

    func keyOnlyOriginCount() throws -> Int {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            Int(try await connection.query(
                "SELECT count(*) FROM origins o WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.origin = o.origin)", logger: logger
            ).decode(Int64.self).first { _ in true } ?? 0)
        }
    }

    func hasForkProof(of origin: OriginID) throws -> Bool {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            try await connection.query("SELECT 1 FROM fork_proofs WHERE origin = \(origin.hex) LIMIT 1", logger: logger).decode(Int32.self).first { _ in true } != nil
        }
    }

    // MARK: Writes

    func insertKey(_ key: OriginKey, at now: Int64) throws {
        let (connection, logger) = (self.connection, self.logger)
        try wait {
            try await connection.query(
                "INSERT INTO origins (origin, public_key, first_seen) VALUES (\(key.origin.hex), \(ByteBuffer(bytes: key.publicKey)), \(now)) ON CONFLICT DO NOTHING",
                logger: logger
            )
        }
    }

    func insertEvents(_ events: [Event], at now: Int64) throws -> (streamVersions: [Int], pendingErasures: [(target: EventID, erasure: EventID)]) {
        let (store, connection, logger) = (self.store, self.connection, self.logger)
        let ranges = Self.seqRanges(of: events)
        return try wait {
            // Positions in commit order: the row stays locked until this transaction ends. Taken
            // in a statement of its own, so the next statement's snapshot sees every stream
            // version a writer before this one committed.
            let last = try await connection.query(
                "UPDATE log_position SET last = last + \(Int64(events.count)) WHERE id = 1 RETURNING last", logger: logger
            ).decode(Int64.self).first { _ in true } ?? 0
            var position = last - Int64(events.count)
            var rows: [PostgresEventStore.EventRow] = []
            rows.reserveCapacity(events.count)
            for event in events {
                position += 1
                rows.append(PostgresEventStore.EventRow(event: event, position: position, streamVersion: 0))
            }
            // Stream versions continue each stream's highest; no other writer can add to a stream
            // while this one holds the position row.
            if rows.count >= store.copyThreshold {
                try await store.assignStreamVersions(&rows, connection)
                try await store.copyEvents(rows, connection, at: now)
            } else {
                try await store.insertEvents(&rows, connection, at: now)
            }
            // In the same wait, while the position row is held: a writer of an erasure naming
            // these events before they were held committed before this one took the row, so its
            // pending entry is seen here.
            return (rows.map { Int($0.streamVersion) }, try await Self.takePendingErasures(ranges, connection, logger: logger))
        }
    }

    func insertSeals(_ seals: [Seal], at now: Int64) throws {
        guard !seals.isEmpty else { return }
        let (store, connection) = (self.store, self.connection)
        try wait { try await store.insertSeals(seals, connection, at: now) }
    }

    func fillOpenings(_ events: [Event]) throws -> [StreamID] {
        guard !events.isEmpty else { return [] }
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            var streams: [StreamID] = []
            for event in events {
                let rows = try await connection.query("""
                    UPDATE events SET actor = \(event.actor), causation_id = \(event.causationID), correlation_id = \(event.correlationID),
                                      data = \(event.payload), salt = \(ByteBuffer(bytes: event.salt)), disclosure = 0
                    WHERE origin = \(event.origin.hex) AND seq = \(Int64(bitPattern: event.seq)) AND disclosure = 1
                      AND commitment = \(ByteBuffer(bytes: event.commitment!.bytes)) AND hash = \(ByteBuffer(bytes: event.hash.bytes))
                    RETURNING stream
                    """, logger: logger)
                // The stored row's stream, not the line's, is refolded.
                for try await stream in rows.decode(String.self) { streams.append(StreamID(unchecked: stream)) }
            }
            return streams
        }
    }

    func eraseOpenings(_ targets: [EventID], by erasure: EventID) throws -> (erased: [StreamID], unheld: [EventID]) {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            var erased: [StreamID] = []
            var unheld: [EventID] = []
            for (origin, group) in Dictionary(grouping: targets, by: \.origin).sorted(by: { $0.key < $1.key }) {
                let seqs = group.map { Int64(bitPattern: $0.seq) }
                let rows = try await connection.query("""
                    UPDATE events SET actor = '', causation_id = NULL, correlation_id = NULL, data = '{}', salt = NULL, disclosure = 2, erased_by = \(erasure.description)
                    WHERE origin = \(origin.hex) AND seq = ANY(\(seqs)) AND commitment IS NOT NULL AND type <> \(Erasure.eventType) AND disclosure <> 2
                    RETURNING stream
                    """, logger: logger)
                for try await stream in rows.decode(String.self) { erased.append(StreamID(unchecked: stream)) }
                let missing = try await connection.query("""
                    SELECT wanted.seq FROM unnest(\(seqs)::bigint[]) AS wanted(seq)
                    WHERE NOT EXISTS (SELECT 1 FROM events WHERE origin = \(origin.hex) AND seq = wanted.seq)
                    """, logger: logger)
                for try await seq in missing.decode(Int64.self) { unheld.append(EventID(origin: origin, seq: UInt64(bitPattern: seq))) }
            }
            return (erased, unheld)
        }
    }

    func addPendingErasures(_ targets: [EventID], by erasure: EventID) throws {
        let (connection, logger) = (self.connection, self.logger)
        let origins = targets.map(\.origin.hex), seqs = targets.map { Int64(bitPattern: $0.seq) }
        try wait {
            try await connection.query("""
                INSERT INTO pending_erasures (origin, seq, erased_by)
                SELECT o, s, \(erasure.description) FROM unnest(\(origins)::text[], \(seqs)::bigint[]) AS t(o, s)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    private static func takePendingErasures(
        _ ranges: [(origin: OriginID, seqs: ClosedRange<UInt64>)], _ connection: PostgresConnection, logger: Logger
    ) async throws -> [(target: EventID, erasure: EventID)] {
        guard !ranges.isEmpty else { return [] }
        let origins = ranges.map(\.origin.hex)
        let firsts = ranges.map { Int64(bitPattern: $0.seqs.lowerBound) }, lasts = ranges.map { Int64(bitPattern: $0.seqs.upperBound) }
        // One round trip an ingest, whatever the origins.
        let rows = try await connection.query("""
            DELETE FROM pending_erasures p USING unnest(\(origins)::text[], \(firsts)::bigint[], \(lasts)::bigint[]) AS r(origin, first, last)
            WHERE p.origin = r.origin AND p.seq BETWEEN r.first AND r.last
            RETURNING p.origin, p.seq, p.erased_by
            """, logger: logger)
        var found: [(target: EventID, erasure: EventID)] = []
        for try await (origin, seq, erasedBy) in rows.decode((String, Int64, String).self) {
            guard let erasure = try? EventID(parsing: erasedBy), let origin = try? OriginID(hex: origin) else { continue }
            found.append((EventID(origin: origin, seq: UInt64(bitPattern: seq)), erasure))
        }
        return found
    }

    func markForRefold(_ streams: Set<StreamID>) throws {
        guard !streams.isEmpty else { return }
        let (connection, logger) = (self.connection, self.logger)
        let names = streams.map(\.rawValue).sorted()
        try wait {
            try await connection.query("INSERT INTO refold_streams (stream) SELECT unnest(\(names)::text[]) ON CONFLICT DO NOTHING", logger: logger)
        }
    }

    func bumpOpeningsGeneration() throws {
        let (store, connection) = (self.store, self.connection)
        try wait { try await store.bumpOpeningsGeneration(connection) }
    }

    func hasResolvedShareRules() throws -> Bool {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM share_rules WHERE \(SharingGrants.resolvedRulesFilter) LIMIT 1"), logger: logger)
                .decode(Int32.self).first { _ in true } != nil
        }
    }

    func insertForkProof(_ proof: ForkProof, lines: String, source: String, at now: Int64) throws {
        let (connection, logger) = (self.connection, self.logger)
        try wait {
            try await connection.query("""
                INSERT INTO fork_proofs (origin, seq, held_hash, offered_hash, proof, source, detected_at)
                VALUES (\(proof.origin.hex), \(Int64(bitPattern: proof.seq)), \(ByteBuffer(bytes: proof.heldHash.bytes)), \(ByteBuffer(bytes: proof.offeredHash.bytes)),
                        \(lines), \(source), \(now))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    func catchUpReadModels() throws {
        try Projector.catchUp(in: PostgresReadModelTransaction(store: store, connection: connection), now: store.clock())
    }

    /// Every process serving the database wakes its long polls on the NOTIFY, delivered at commit.
    func announceCommit() throws {
        let (connection, logger) = (self.connection, self.logger)
        try wait { try await connection.query("SELECT pg_notify(\(PostgresEventStore.commitChannel), '')", logger: logger) }
    }

    // MARK: Checkpoints

    var keepsCheckpoints: Bool { true }

    func newestCheckpoint(of signer: OriginID) throws -> Checkpoint? {
        try checkpoints(of: signer, after: 0, limit: 1, newestFirst: true).first?.checkpoint
    }

    /// Inserts unless that signer's number is held (a second, different checkpoint under one
    /// number is the signer's own contradiction; the first is kept).
    func insertCheckpoint(_ checkpoint: Checkpoint, at now: Int64) throws -> Bool {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            try await connection.query("""
                INSERT INTO checkpoints (signer, number, node, taken_at, line, received_at)
                VALUES (\(checkpoint.signer.hex), \(Int64(clamping: checkpoint.number)), \(checkpoint.node), \(checkpoint.takenAt), \(checkpoint.exchangeJSON), \(now))
                ON CONFLICT (signer, number) DO NOTHING RETURNING 1
                """, logger: logger).decode(Int32.self).first { _ in true } != nil
        }
    }
}

extension PostgresIngestTransaction: CheckpointTransaction {
    /// One lookup an origin on the `(origin, seq)` key.
    func heads() throws -> [Checkpoint.Head] {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            var heads: [Checkpoint.Head] = []
            let rows = try await connection.query("""
                SELECT o.origin, h.seq, h.hash FROM origins o
                CROSS JOIN LATERAL (SELECT seq, hash FROM events e WHERE e.origin = o.origin ORDER BY seq DESC LIMIT 1) h
                """, logger: logger)
            for try await (origin, seq, hash) in rows.decode((String, Int64, ByteBuffer).self) {
                heads.append(Checkpoint.Head(origin: OriginID(unchecked: origin), seq: UInt64(clamping: seq), hash: EventHash(bytes: Array(hash.readableBytesView))))
            }
            return heads
        }
    }

    func checkpointNumbers() throws -> [OriginID: UInt64] {
        let (connection, logger) = (self.connection, self.logger)
        return try wait { try await PostgresEventStore.checkpointNumbers(connection, logger: logger) }
    }

    func checkpoints(of signer: OriginID, after: UInt64, limit: Int) throws -> [(number: UInt64, line: String, checkpoint: Checkpoint)] {
        try checkpoints(of: signer, after: after, limit: limit, newestFirst: false)
    }

    func checkpointSigners(named node: String) throws -> [OriginID] {
        try signers("SELECT DISTINCT signer FROM checkpoints WHERE node = \(node)")
    }

    func checkpointSigners(withPrefix prefix: String) throws -> [OriginID] {
        try signers("SELECT DISTINCT signer FROM checkpoints WHERE signer >= \(prefix) AND signer < \(prefix + "g")")
    }

    private func signers(_ query: PostgresQuery) throws -> [OriginID] {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            var signers: [OriginID] = []
            for try await signer in try await connection.query(query, logger: logger).decode(String.self) { signers.append(OriginID(unchecked: signer)) }
            return signers
        }
    }

    func newestCheckpoint(of signer: OriginID, takenAtOrBefore time: Int64) throws -> Checkpoint? {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            try await connection.query(
                "SELECT line FROM checkpoints WHERE signer = \(signer.hex) AND taken_at <= \(time) ORDER BY taken_at DESC, number DESC LIMIT 1", logger: logger
            ).decode(String.self).first { _ in true }.map { try Checkpoint(storedLine: $0) }
        }
    }

    private func checkpoints(of signer: OriginID, after: UInt64, limit: Int, newestFirst: Bool) throws -> [(number: UInt64, line: String, checkpoint: Checkpoint)] {
        let (connection, logger) = (self.connection, self.logger)
        return try wait {
            let query: PostgresQuery = newestFirst
                ? "SELECT number, line FROM checkpoints WHERE signer = \(signer.hex) AND number > \(Int64(clamping: after)) ORDER BY number DESC LIMIT \(Int64(limit))"
                : "SELECT number, line FROM checkpoints WHERE signer = \(signer.hex) AND number > \(Int64(clamping: after)) ORDER BY number LIMIT \(Int64(limit))"
            var result: [(number: UInt64, line: String, checkpoint: Checkpoint)] = []
            for try await (number, line) in try await connection.query(query, logger: logger).decode((Int64, String).self) {
                result.append((UInt64(clamping: number), line, try Checkpoint(storedLine: line)))
            }
            return result
        }
    }
}

extension PostgresEventStore {
    /// Waits, on a transaction thread (`runBlocking`, never a task's), for an asynchronous step.
    @discardableResult
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        // High priority: the thread waiting may hold the log's position row, which every other
        // writer queues on; its next step should not wait behind the requests of those writers.
        Task(priority: .high) {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }

    /// Runs a synchronous body (the engine's steps over `PostgresIngestTransaction`) on one of
    /// the store's transaction threads, whose waits for PostgreSQL then block no task. Not a
    /// Dispatch queue: on Linux the tasks a wait starts run on Dispatch's global threads, as many
    /// as the cores, and bodies waiting there would leave them none (measured: a load test's
    /// syncs took seconds).
    func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await transactionThreads.runIfActive(body)
    }
}
