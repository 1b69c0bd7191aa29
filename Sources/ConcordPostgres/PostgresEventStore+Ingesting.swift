import ConcordCore
import ConcordStorage
import ConcordProjections
import NIOCore
import PostgresNIO

extension PostgresEventStore {
    /// Stores events of any origin after verifying them by the rules every backend shares
    /// (`BatchVerifier`), in one transaction; see `SQLiteEventStore.ingest` for the policies.
    ///
    /// Locking (docs/postgres.md): each origin of the batch is locked, in origin order, with a
    /// transaction-scoped advisory lock before its head is read, so two writers of one origin
    /// verify against the head the other left; the log's position row is locked last, when the
    /// verified events are inserted, so positions follow commit order. No transaction waits for
    /// an origin lock while holding the position row, so the two cannot deadlock.
    @discardableResult
    public func ingest(_ batch: IngestBatch, source: String = "import", policy: IngestPolicy = .allOrNothing) async throws -> IngestResult {
        let now = clock()
        let hook = beforeIngestCommit.withLock { $0 }
        let result = try await read("store \(batch.events.count) event(s)") { connection -> IngestResult in
            // The steps are the engine's (`Ingest`), the same on every backend. BEGIN and COMMIT
            // are sent from the transaction thread too: the commit follows the last statement
            // at once, not after a hop back to a task, while the position row is held.
            try await self.runBlocking {
                try Self.wait { try await connection.query("BEGIN", logger: self.logger) }
                do {
                    let result = try Ingest.run(batch, source: source, policy: policy, now: now, widensGrants: SharingGrants.mayWiden, in: PostgresIngestTransaction(store: self, connection: connection))
                    if let hook { try Self.wait { await hook() } }
                    try Self.wait { try await connection.query("COMMIT", logger: self.logger) }
                    return result
                } catch {
                    _ = try? Self.wait { try await connection.query("ROLLBACK", logger: self.logger) }
                    throw error
                }
            }
        }
        if policy == .allOrNothing, let first = result.refused.first { throw first.error }
        if result.storedSomething { commits.signal() }
        if result.erasedOpenings { await scrubAfterErasure() }
        return result
    }

    /// The advisory-lock key of an origin (a collision only makes two origins wait for each other).
    static func originLock(_ origin: OriginID) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in origin.hex.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        // Clear of `migrationLock`'s key space.
        return Int64(bitPattern: hash & 0x3FFF_FFFF_FFFF_FFFF)
    }

    func insertSeals(_ seals: [Seal], _ connection: PostgresConnection, at now: Int64) async throws {
        for chunk in stride(from: 0, to: seals.count, by: Self.rowsPerInsert).map({ seals[$0..<min($0 + Self.rowsPerInsert, seals.count)] }) {
            var bindings = PostgresBindings(capacity: chunk.count * 5)
            var values: [String] = []
            for seal in chunk {
                let base = bindings.count
                values.append("($\(base + 1),$\(base + 2),$\(base + 3),$\(base + 4),$\(base + 5))")
                bindings.append(seal.origin.hex)
                bindings.append(Int64(bitPattern: seal.seq))
                bindings.append(ByteBuffer(bytes: seal.hash.bytes))
                bindings.append(ByteBuffer(bytes: seal.signature))
                bindings.append(now)
            }
            try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO seals (origin, seq, hash, signature, sealed_at) VALUES \(values.joined(separator: ",")) ON CONFLICT DO NOTHING
                """, binds: bindings), logger: logger)
        }
    }

    /// Each row's stream version, from its stream's highest held (for COPY, which cannot compute it).
    func assignStreamVersions(_ rows: inout [EventRow], _ connection: PostgresConnection) async throws {
        let streams = Array(Set(rows.map(\.event.stream.rawValue)))
        var versions: [String: Int64] = [:]
        for try await (stream, version) in try await connection.query(
            "SELECT stream, max(stream_version) FROM events WHERE stream = ANY(\(streams)) GROUP BY stream", logger: logger
        ).decode((String, Int64).self) {
            versions[stream] = version
        }
        for index in rows.indices {
            let stream = rows[index].event.stream.rawValue
            let version = (versions[stream] ?? 0) + 1
            versions[stream] = version
            rows[index].streamVersion = version
        }
    }

    /// An event with where it goes: its position and its stream version.
    struct EventRow {
        var event: Event
        var position: Int64
        var streamVersion: Int64
    }

    static let eventInsertColumns = [
        "position", "origin", "seq", "stream", "stream_version", "type", "schema_version", "hlc", "recorded_at", "occurred_at",
        "stored_at", "actor", "causation_id", "correlation_id", "prev", "data", "prev_hash", "hash", "commitment", "salt", "disclosure",
    ]

    /// Multi-row INSERTs, for small batches (a push of a few events). Each row's stream version
    /// is its stream's highest held plus its place among the chunk's rows of that stream,
    /// computed by the INSERT itself and returned: one round trip a chunk under the position lock.
    func insertEvents(_ rows: inout [EventRow], _ connection: PostgresConnection, at now: Int64) async throws {
        for start in stride(from: 0, to: rows.count, by: Self.rowsPerInsert) {
            let chunk = start..<min(start + Self.rowsPerInsert, rows.count)
            var bindings = PostgresBindings(capacity: chunk.count * 21)
            var values: [String] = []
            values.reserveCapacity(chunk.count)
            var placeInStream: [String: Int64] = [:]
            for index in chunk {
                let event = rows[index].event
                let place = (placeInStream[event.stream.rawValue] ?? 0) + 1
                placeInStream[event.stream.rawValue] = place
                let base = bindings.count
                values.append("(" + (1...21).map { "$\(base + $0)" }.joined(separator: ",") + ")")
                bindings.append(rows[index].position)
                bindings.append(event.origin.hex)
                bindings.append(Int64(bitPattern: event.seq))
                bindings.append(event.stream.rawValue)
                bindings.append(place)
                bindings.append(event.type.rawValue)
                bindings.append(Int64(event.schemaVersion))
                bindings.append(event.hlc.packed)
                bindings.append(event.recordedAt)
                bindings.append(event.occurredAt)
                bindings.append(now)
                bindings.append(event.actor)
                bindings.append(event.causationID)
                bindings.append(event.correlationID)
                bindings.append(StoredPrevList.encode(event.prev))
                bindings.append(event.payload)
                bindings.append(ByteBuffer(bytes: event.prevHash.bytes))
                bindings.append(ByteBuffer(bytes: event.hash.bytes))
                bindings.append(event.commitment.map { ByteBuffer(bytes: $0.bytes) })
                bindings.append(event.commitment != nil && event.disclosure == .full ? ByteBuffer(bytes: event.salt) : nil)
                bindings.append(Int16(event.disclosure.rawValue))
            }
            let returned = try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO events (position, origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,
                                    stored_at, actor, causation_id, correlation_id, prev, data, prev_hash, hash, commitment, salt, disclosure)
                SELECT v.position, v.origin, v.seq, v.stream,
                       coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream = v.stream), 0) + v.place,
                       v.type, v.schema_version, v.hlc, v.recorded_at, v.occurred_at, v.stored_at, v.actor, v.causation_id,
                       v.correlation_id, v.prev, v.data, v.prev_hash, v.hash, v.commitment::bytea, v.salt::bytea, v.disclosure
                FROM (VALUES \(values.joined(separator: ","))) AS v (position, origin, seq, stream, place, type, schema_version, hlc, recorded_at,
                     occurred_at, stored_at, actor, causation_id, correlation_id, prev, data, prev_hash, hash, commitment, salt, disclosure)
                RETURNING position, stream_version
                """, binds: bindings), logger: logger)
            let first = rows[chunk.lowerBound].position
            var stored = 0
            for try await (position, version) in returned.decode((Int64, Int64).self) {
                let index = chunk.lowerBound + Int(position - first)
                guard chunk.contains(index) else { throw ConcordError(.storage, "the database returned position \(position) for a batch from \(first)") }
                rows[index].streamVersion = version
                stored += 1
            }
            guard stored == chunk.count else { throw ConcordError(.storage, "the database stored \(stored) of \(chunk.count) events") }
        }
    }

    /// COPY, for large batches (imports, initial syncs, `concord copy`): measured faster from
    /// `copyThreshold` events a batch (docs/postgres.md). The same triggers run for each row.
    func copyEvents(_ rows: [EventRow], _ connection: PostgresConnection, at now: Int64) async throws {
        try await connection.copyFrom(table: "events", columns: Self.eventInsertColumns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(1 << 16)
            for row in rows {
                let event = row.event
                CopyText.field(row.position, &buffer, first: true)
                CopyText.field(event.origin.hex, &buffer)
                CopyText.field(Int64(bitPattern: event.seq), &buffer)
                CopyText.field(event.stream.rawValue, &buffer)
                CopyText.field(row.streamVersion, &buffer)
                CopyText.field(event.type.rawValue, &buffer)
                CopyText.field(Int64(event.schemaVersion), &buffer)
                CopyText.field(event.hlc.packed, &buffer)
                CopyText.field(event.recordedAt, &buffer)
                CopyText.field(event.occurredAt, &buffer)
                CopyText.field(now, &buffer)
                CopyText.field(event.actor, &buffer)
                CopyText.field(event.causationID, &buffer)
                CopyText.field(event.correlationID, &buffer)
                CopyText.field(StoredPrevList.encode(event.prev), &buffer)
                CopyText.field(event.payload, &buffer)
                CopyText.bytes(event.prevHash.bytes, &buffer)
                CopyText.bytes(event.hash.bytes, &buffer)
                CopyText.bytes(event.commitment?.bytes, &buffer)
                CopyText.bytes(event.commitment != nil && event.disclosure == .full ? event.salt : nil, &buffer)
                CopyText.field(Int64(event.disclosure.rawValue), &buffer)
                buffer.writeInteger(UInt8(ascii: "\n"))
                if buffer.readableBytes >= 1 << 16 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }

    /// Rows a multi-row INSERT carries (PostgreSQL takes at most 65535 parameters a statement).
    static let rowsPerInsert = 2000
}
