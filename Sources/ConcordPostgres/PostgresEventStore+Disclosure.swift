import ConcordCore
import ConcordProjections
import ConcordSyncProtocol
import NIOCore
import PostgresNIO

/// Openings that arrive after their stubs, and erasures that destroy them (docs/privacy.md).
extension PostgresEventStore {
    /// Keeps the openings of held stubs (verified against their commitments by the caller).
    /// An opening this node erased is not stored again. Returns how many were stored.
    func storeOpenings(_ events: [Event], _ connection: PostgresConnection) async throws -> Int {
        var stored = 0
        for event in events where event.disclosure == .full && event.commitment != nil {
            let rows = try await connection.query("""
                UPDATE events SET actor = \(event.actor), causation_id = \(event.causationID), correlation_id = \(event.correlationID),
                                  data = \(event.payload), salt = \(ByteBuffer(bytes: event.salt)), disclosure = 0
                WHERE origin = \(event.origin.hex) AND seq = \(Int64(bitPattern: event.seq)) AND disclosure = 1
                  AND commitment = \(ByteBuffer(bytes: event.commitment!.bytes)) AND hash = \(ByteBuffer(bytes: event.hash.bytes))
                RETURNING stream
                """, logger: logger)
            // The stored row's stream, not the line's, is refolded.
            for try await stream in rows.decode(String.self) {
                stored += 1
                try await markForRefold(stream, connection)
            }
        }
        if stored > 0 { try await bumpOpeningsGeneration(connection) }
        return stored
    }

    /// Destroys the openings an erasure names, in the transaction that stores the erasure. The
    /// events of an earlier incarnation it names that are not held yet are erased as they
    /// arrive (`pending_erasures`).
    func applyErasure(_ erasure: Erasure, by id: EventID, _ connection: PostgresConnection) async throws -> Int {
        var erased = 0
        // Its own origin's events, and any earlier incarnations' it carries handovers for.
        for (origin, targets) in Dictionary(grouping: erasure.targets, by: \.origin).sorted(by: { $0.key < $1.key }) {
            let seqs = targets.map { Int64(bitPattern: $0.seq) }
            let rows = try await connection.query("""
                UPDATE events SET actor = '', causation_id = NULL, correlation_id = NULL, data = '{}', salt = NULL, disclosure = 2, erased_by = \(id.description)
                WHERE origin = \(origin.hex) AND seq = ANY(\(seqs)) AND commitment IS NOT NULL AND type <> \(Erasure.eventType) AND disclosure <> 2
                RETURNING stream
                """, logger: logger)
            for try await stream in rows.decode(String.self) {
                erased += 1
                try await markForRefold(stream, connection)
            }
            if origin != id.origin {
                try await connection.query("""
                    INSERT INTO pending_erasures (origin, seq, erased_by)
                    SELECT \(origin.hex), wanted.seq, \(id.description) FROM unnest(\(seqs)::bigint[]) AS wanted(seq)
                    WHERE NOT EXISTS (SELECT 1 FROM events WHERE origin = \(origin.hex) AND seq = wanted.seq)
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
        return erased
    }

    /// Erases what held erasures named of the events just stored before they arrived (each
    /// origin's range of seqs), in one round trip; called after they are inserted. Returns how
    /// many were erased.
    func applyPendingErasures(_ ranges: [(origin: OriginID, seqs: ClosedRange<UInt64>)], _ connection: PostgresConnection) async throws -> Int {
        guard !ranges.isEmpty else { return 0 }
        let origins = ranges.map(\.origin.hex)
        let firsts = ranges.map { Int64(bitPattern: $0.seqs.lowerBound) }, lasts = ranges.map { Int64(bitPattern: $0.seqs.upperBound) }
        let rows = try await connection.query("""
            DELETE FROM pending_erasures p USING unnest(\(origins)::text[], \(firsts)::bigint[], \(lasts)::bigint[]) AS r(origin, first, last)
            WHERE p.origin = r.origin AND p.seq BETWEEN r.first AND r.last
            RETURNING p.origin, p.seq, p.erased_by
            """, logger: logger)
        var found: [(String, Int64, String)] = []
        for try await row in rows.decode((String, Int64, String).self) { found.append(row) }
        var erased = 0
        for (origin, seq, erasedBy) in found {
            guard let erasure = try? EventID(parsing: erasedBy), let origin = try? OriginID(hex: origin) else { continue }
            erased += try await applyErasure(Erasure(targets: [EventID(origin: origin, seq: UInt64(bitPattern: seq))], reason: "pending"), by: erasure, connection)
        }
        return erased
    }

    /// After an erasure commits: the erased openings, and the read-model rows folded from them,
    /// are still in the tables' files as dead row versions until a VACUUM removes them. The
    /// tables are vacuumed now when this role owns them (the schema's owner, or a superuser);
    /// an application role may not, and then autovacuum removes them within its naptime (the
    /// tables ask for it at the first dead row: migration 0005, docs/postgres.md). VACUUM skips
    /// pages all of whose rows are visible to everyone, so it costs the pages the erasure and
    /// its catch-up changed. What stays in WAL segments until they are recycled, in archives,
    /// replicas and backups is in docs/privacy.md.
    func scrubAfterErasure() async {
        let tables = ["events"] + ReadModelSchema.tables.map(\.name)
        do {
            try await read("vacuum after an erasure") { connection in
                let owns = try await connection.query(
                    "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = 'events'::regclass", logger: self.logger
                ).decode(Bool.self).first { _ in true } ?? false
                guard owns else {
                    self.logger.notice("erased openings stay in dead row versions until autovacuum removes them: this role does not own the tables, so it cannot VACUUM them (docs/postgres.md)")
                    return
                }
                try await connection.query(PostgresQuery(unsafeSQL: "VACUUM \(tables.joined(separator: ", "))"), logger: self.logger)
            }
        } catch {
            logger.warning("could not vacuum after an erasure; autovacuum will (docs/postgres.md)", metadata: ["error": "\(error)"])
        }
    }

    private func markForRefold(_ stream: String, _ connection: PostgresConnection) async throws {
        try await connection.query("INSERT INTO refold_streams (stream) VALUES (\(stream)) ON CONFLICT DO NOTHING", logger: logger)
    }

    /// Stores late openings a peer sent: each of a stub held here and matching it
    /// (`BatchVerifier.lateOpeningProblem`); the others are ignored.
    public func storeLateOpenings(_ events: [Event]) async throws -> (stored: Int, ignored: Int) {
        let stored = try await run("store \(events.count) opening(s)") { connection -> Int in
            var valid: [Event] = []
            for event in events {
                let held = try await Self.storedHash(connection, event.id, logger: self.logger)
                if BatchVerifier.lateOpeningProblem(event, heldHash: held) == nil { valid.append(event) }
            }
            let stored = try await self.storeOpenings(valid, connection)
            if stored > 0 { try await connection.query("SELECT pg_notify(\(Self.commitChannel), '')", logger: self.logger) }
            return stored
        }
        if stored > 0 { commits.signal() }
        return (stored, events.count - stored)
    }

    /// The events held as stubs (not erased) stored after position `since`, at most `limit`.
    public func withheld(storedAfter since: Int64, limit: Int) async throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool) {
        try await read("read the stubs") { connection in
            let rows = try await connection.query(
                "SELECT position, origin, seq FROM events WHERE disclosure = 1 AND position > \(since) ORDER BY position LIMIT \(Int64(limit) + 1)",
                logger: self.logger
            )
            var ids: [EventID] = []
            var through = since
            var more = false
            for try await (position, origin, seq) in rows.decode((Int64, String, Int64).self) {
                guard ids.count < limit else {
                    more = true
                    break
                }
                through = position
                ids.append(EventID(origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq)))
            }
            return (SyncWire.ranges(of: ids.sorted()), through, more)
        }
    }

    public func stubsCursor() async throws -> Int64 {
        try await read("read the stubs") { connection in
            try await connection.query("SELECT max(position) FROM events WHERE disclosure = 1", logger: self.logger).decode(Int64?.self).first { _ in true }.flatMap { $0 } ?? 0
        }
    }

    public func openingsGeneration() async throws -> UInt64 {
        try await read("read the settings") { connection in
            let value = try await connection.query("SELECT value FROM settings WHERE name = 'openings_generation'", logger: self.logger).decode(String.self).first { _ in true }
            return UInt64(value ?? "0") ?? 0
        }
    }

    public func openingsState(with peer: String) async throws -> OpeningsState {
        try await read("read the openings state") { connection in
            let rows = try await connection.query(
                "SELECT peer_openings, asked_through, own_openings, peer_stubs_through FROM peer_openings WHERE peer = \(peer)", logger: self.logger
            )
            guard let (peerOpenings, askedThrough, ownOpenings, peerStubsThrough) = try await rows.decode((Int64?, Int64, Int64?, Int64).self).first(where: { _ in true }) else {
                return OpeningsState()
            }
            return OpeningsState(
                peerOpenings: peerOpenings.map { UInt64(bitPattern: $0) }, askedThrough: askedThrough,
                ownOpenings: ownOpenings.map { UInt64(bitPattern: $0) }, peerStubsThrough: peerStubsThrough
            )
        }
    }

    public func recordOpeningsState(_ state: OpeningsState, with peer: String) async throws {
        try await run("record the openings state") { connection in
            try await connection.query("""
                INSERT INTO peer_openings (peer, peer_openings, asked_through, own_openings, peer_stubs_through)
                VALUES (\(peer), \(state.peerOpenings.map { Int64(bitPattern: $0) }), \(state.askedThrough), \(state.ownOpenings.map { Int64(bitPattern: $0) }), \(state.peerStubsThrough))
                ON CONFLICT (peer) DO UPDATE SET peer_openings = EXCLUDED.peer_openings, asked_through = EXCLUDED.asked_through,
                    own_openings = EXCLUDED.own_openings, peer_stubs_through = EXCLUDED.peer_stubs_through
                """, logger: self.logger)
        }
    }
}
