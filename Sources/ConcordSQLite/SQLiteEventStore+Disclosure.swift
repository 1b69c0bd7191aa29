import ConcordCore
import ConcordStorage
import ConcordSyncProtocol

/// Openings that arrive after their stubs, and erasures that destroy them (docs/privacy.md).
extension SQLiteEventStore {
    /// Stores late openings a peer sent: each one of a stub held here, matching it
    /// (`BatchVerifier.lateOpeningProblem`); the others are ignored (a hostile peer's are
    /// logged by the caller, never stored). The rule is the engine's (`Ingest`).
    public func storeLateOpenings(_ events: [Event]) throws -> (stored: Int, ignored: Int) {
        let result = try withConnection("store \(events.count) opening(s)") { state in
            try state.connection.transaction { try Ingest.storeLateOpenings(events, in: SQLiteIngestTransaction(state.connection)) }
        }
        if result.stored > 0 { commits.signal() }
        return result
    }

    /// The events held as stubs (not erased) stored after position `since`, at most `limit`, as
    /// ranges of consecutive seqs; `through` is the position of the last one listed.
    public func withheld(storedAfter since: Int64, limit: Int) throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool) {
        try withConnection("read the stubs") { state in
            // The partial index on position holds only stubs: the cost is the stubs listed.
            let statement = try state.connection.prepare(
                "SELECT position, origin, seq FROM events WHERE disclosure = 1 AND position > ? ORDER BY position LIMIT ?"
            )
            try statement.bind([.integer(since), .integer(Int64(limit) + 1)])
            var ids: [EventID] = []
            var through = since
            var more = false
            while try statement.step() {
                guard ids.count < limit else {
                    more = true
                    break
                }
                through = statement.int64(0)
                ids.append(EventID(origin: OriginID(unchecked: statement.text(1)), seq: UInt64(bitPattern: statement.int64(2))))
            }
            statement.reset()
            return (SyncWire.ranges(of: ids.sorted()), through, more)
        }
    }

    /// The position of the newest stub held (0 when none): the cursor peers compare.
    public func stubsCursor() throws -> Int64 {
        try withConnection("read the stubs") { state in
            try state.connection.scalarInt("SELECT max(position) FROM events WHERE disclosure = 1") ?? 0
        }
    }

    public func openingsState(with peer: String) throws -> OpeningsState {
        try withConnection("read the openings state") { state in
            let statement = try state.connection.cached("SELECT peer_openings, asked_through, own_openings, peer_stubs_through FROM peer_openings WHERE peer = ?")
            defer { statement.reset() }
            try statement.bind(1, peer)
            guard try statement.step() else { return OpeningsState() }
            return OpeningsState(
                peerOpenings: statement.isNull(0) ? nil : UInt64(bitPattern: statement.int64(0)), askedThrough: statement.int64(1),
                ownOpenings: statement.isNull(2) ? nil : UInt64(bitPattern: statement.int64(2)), peerStubsThrough: statement.int64(3)
            )
        }
    }

    public func recordOpeningsState(_ openings: OpeningsState, with peer: String) throws {
        try withConnection("record the openings state") { state in
            try state.connection.cached(
                "INSERT OR REPLACE INTO peer_openings (peer, peer_openings, asked_through, own_openings, peer_stubs_through) VALUES (?, ?, ?, ?, ?)"
            ).run([
                .text(peer), openings.peerOpenings.map { .integer(Int64(bitPattern: $0)) } ?? .null, .integer(openings.askedThrough),
                openings.ownOpenings.map { .integer(Int64(bitPattern: $0)) } ?? .null, .integer(openings.peerStubsThrough),
            ])
        }
    }

    static func markForRefold(_ stream: StreamID, _ connection: SQLiteConnection) throws {
        try connection.cached("INSERT OR IGNORE INTO refold_streams (stream) VALUES (?)").run([.text(stream.rawValue)])
    }

    /// Counts changes that may give a peer openings it lacks (a late opening stored, a rule
    /// changed): a peer that saw another number asks again for the openings of its stubs.
    static func bumpOpeningsGeneration(_ connection: SQLiteConnection) throws {
        try connection.cached("""
            INSERT INTO settings (name, value) VALUES ('openings_generation', '1')
            ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
            """).run([])
    }

    /// The number a peer compares (see `bumpOpeningsGeneration`).
    public func openingsGeneration() throws -> UInt64 {
        try withConnection("read the settings") { state in
            UInt64(try state.connection.scalarText("SELECT value FROM settings WHERE name = 'openings_generation'") ?? "0") ?? 0
        }
    }

    /// After a commit that erased openings: moves the WAL's pages into the file and truncates
    /// the WAL, so the erased bytes are in no file (`secure_delete` zeroed them in the pages); a
    /// reader holding an old snapshot may keep it for about a second, then the scrub is left
    /// pending (`scrub_pending`) for the next open or erasure.
    /// A store made before need-to-know may hold old copies in free pages (it ran without
    /// `secure_delete`): it is vacuumed once. Returns false when another connection kept the
    /// WAL from being truncated (it is then truncated at a later erasure or checkpoint).
    @discardableResult
    func scrubAfterErasure() -> Bool {
        (try? withConnection("scrub erased data") { state in try Self.scrub(state.connection) }) ?? false
    }

    /// Scrubs when an erasure was committed but its scrub did not finish (the process was killed,
    /// or another reader kept the WAL), at open.
    static func scrubIfPending(_ connection: SQLiteConnection) throws {
        if try connection.scalarText("SELECT value FROM settings WHERE name = 'scrub_pending'") != nil { _ = try scrub(connection) }
    }

    /// `scrubAfterErasure` on a connection the caller holds (outside any transaction).
    static func scrub(_ connection: SQLiteConnection) throws -> Bool {
            connection.resetBusyStatements()
            if try connection.scalarText("SELECT value FROM settings WHERE name = 'free_pages_zeroed'") == nil {
                try connection.execute("VACUUM")
                try connection.execute("INSERT OR REPLACE INTO settings (name, value) VALUES ('free_pages_zeroed', '1')")
            }
            // A reader holding an old snapshot keeps the WAL: wait for it briefly (about a second
            // in all), not for the connection's whole busy timeout at every try.
            let busyTimeout = try connection.scalarInt("PRAGMA busy_timeout") ?? 0
            try connection.execute("PRAGMA busy_timeout=100")
            defer { try? connection.execute("PRAGMA busy_timeout=\(busyTimeout)") }
            for _ in 0..<10 {
                let statement = try connection.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
                guard try statement.step() else { return false }
                if statement.int64(0) == 0 {
                    statement.reset()
                    try connection.execute("DELETE FROM settings WHERE name = 'scrub_pending'")
                    return true
                }
                statement.reset()
            }
            return false
    }
}
