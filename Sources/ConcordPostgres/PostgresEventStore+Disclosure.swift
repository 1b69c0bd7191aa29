import ConcordCore
import ConcordStorage
import ConcordProjections
import ConcordSyncProtocol
import NIOCore
import PostgresNIO

/// Openings that arrive after their stubs, and erasures that destroy them (docs/privacy.md).
extension PostgresEventStore {
    /// After an erasure commits: the erased openings, and the read-model rows folded from them,
    /// are still in the tables' files as dead row versions until a VACUUM removes them. The
    /// tables are vacuumed now when this role owns them (the schema's owner, or a superuser);
    /// an application role may not, and then autovacuum removes them within its naptime (the
    /// tables ask for it at the first dead row: migration 0005, docs/postgres.md). VACUUM skips
    /// pages all of whose rows are visible to everyone, so it costs the pages the erasure and
    /// its catch-up changed. What stays in WAL segments until they are recycled, in archives,
    /// replicas and backups is in docs/privacy.md.
    func scrubAfterErasure() async {
        let tables = ["events", "fold_states"] + ReadModelSchema.tables.map(\.name)
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

    /// Stores late openings a peer sent: each of a stub held here and matching it
    /// (`BatchVerifier.lateOpeningProblem`); the others are ignored. The rule is the engine's
    /// (`Ingest`).
    public func storeLateOpenings(_ events: [Event]) async throws -> (stored: Int, ignored: Int) {
        let result = try await run("store \(events.count) opening(s)") { connection in
            try await self.runBlocking { try Ingest.storeLateOpenings(events, in: PostgresIngestTransaction(store: self, connection: connection)) }
        }
        if result.stored > 0 { commits.signal() }
        return result
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
