import ConcordCore
import ConcordSyncProtocol

/// Openings that arrive after their stubs, and erasures that destroy them (docs/privacy.md).
extension SQLiteEventStore {
    /// Keeps the openings of held stubs (verified against their commitments by `BatchVerifier`).
    /// An opening this node erased is not stored again. Returns how many were stored.
    static func storeOpenings(_ events: [Event], _ connection: SQLiteConnection) throws -> Int {
        var stored = 0
        let update = try connection.cached("""
            UPDATE events SET actor = ?, causation_id = ?, correlation_id = ?, data = ?, salt = ?, disclosure = 0
            WHERE origin = ? AND seq = ? AND disclosure = 1 AND commitment = ? AND hash = ?
            RETURNING stream
            """)
        for event in events where event.disclosure == .full && event.commitment != nil {
            try update.bind([
                .text(event.actor), event.causationID.map { .text($0) } ?? .null, event.correlationID.map { .text($0) } ?? .null,
                .text(event.payload), .blob(event.salt), .text(event.origin.hex), .integer(Int64(bitPattern: event.seq)),
                .blob(event.commitment!.bytes), .blob(event.hash.bytes),
            ])
            // The stored row's stream, not the line's, is refolded.
            var streams: [String] = []
            while try update.step() { streams.append(update.text(0)) }
            update.reset()
            for stream in streams {
                stored += 1
                try markForRefold(StreamID(unchecked: stream), connection)
            }
        }
        if stored > 0 { try bumpOpeningsGeneration(connection) }
        return stored
    }

    /// Destroys the openings an erasure names, in the transaction that stores the erasure: the
    /// events keep their headers, so every chain and seal still verifies. Format-1 events and
    /// erasures keep theirs (`Erasure`). Returns how many openings were destroyed.
    @discardableResult
    static func applyErasure(_ erasure: Erasure, by id: EventID, _ connection: SQLiteConnection) throws -> Int {
        let update = try connection.cached("""
            UPDATE events SET actor = '', causation_id = NULL, correlation_id = NULL, data = '{}', salt = NULL, disclosure = 2, erased_by = ?
            WHERE origin = ? AND seq = ? AND commitment IS NOT NULL AND type <> ? AND disclosure <> 2
            RETURNING stream
            """)
        // Until the WAL is truncated after the commit, copies of the erased bytes may sit in it:
        // a process killed before then leaves this mark, and the next open scrubs.
        try connection.cached("INSERT OR REPLACE INTO settings (name, value) VALUES ('scrub_pending', '1')").run([])
        var erased = 0
        for target in erasure.targets {
            try update.bind([.text(id.description), .text(target.origin.hex), .integer(Int64(bitPattern: target.seq)), .text(Erasure.eventType)])
            var streams: [String] = []
            while try update.step() { streams.append(update.text(0)) }
            update.reset()
            for stream in streams {
                erased += 1
                try markForRefold(StreamID(unchecked: stream), connection)
            }
            // An earlier incarnation's event not held yet is erased when it arrives.
            if streams.isEmpty, target.origin != id.origin, try storedHash(connection, target) == nil {
                try connection.cached("INSERT OR IGNORE INTO pending_erasures (origin, seq, erased_by) VALUES (?, ?, ?)")
                    .run([.text(target.origin.hex), .integer(Int64(bitPattern: target.seq)), .text(id.description)])
            }
        }
        return erased
    }

    /// Erases what held erasures named of `origin`'s events `seqs` before they were stored
    /// (`pending_erasures`); called after they are inserted. Returns how many were erased.
    static func applyPendingErasures(of origin: OriginID, seqs: ClosedRange<UInt64>, _ connection: SQLiteConnection) throws -> Int {
        let pending = try connection.cached("SELECT seq, erased_by FROM pending_erasures WHERE origin = ? AND seq BETWEEN ? AND ?")
        try pending.bind([.text(origin.hex), .integer(Int64(bitPattern: seqs.lowerBound)), .integer(Int64(bitPattern: seqs.upperBound))])
        var found: [(UInt64, EventID)] = []
        while try pending.step() {
            if let erasure = try? EventID(parsing: pending.text(1)) { found.append((UInt64(bitPattern: pending.int64(0)), erasure)) }
        }
        pending.reset()
        var erased = 0
        for (seq, erasure) in found {
            let target = EventID(origin: origin, seq: seq)
            erased += try applyErasure(Erasure(targets: [target], reason: "pending"), by: erasure, connection)
            try connection.cached("DELETE FROM pending_erasures WHERE origin = ? AND seq = ?").run([.text(origin.hex), .integer(Int64(bitPattern: seq))])
        }
        return erased
    }

    /// Stores late openings a peer sent: each one of a stub held here, matching it
    /// (`BatchVerifier.lateOpeningProblem`); the others are ignored (a hostile peer's are
    /// logged by the caller, never stored).
    public func storeLateOpenings(_ events: [Event]) throws -> (stored: Int, ignored: Int) {
        let stored = try withConnection("store \(events.count) opening(s)") { state -> Int in
            try state.connection.transaction {
                let connection = state.connection
                var valid: [Event] = []
                for event in events {
                    let held = try Self.storedHash(connection, event.id)
                    if BatchVerifier.lateOpeningProblem(event, heldHash: held) == nil { valid.append(event) }
                }
                let stored = try Self.storeOpenings(valid, connection)
                if stored > 0, try Self.projectionCheckpoint(connection).version != nil { _ = try Self.catchUp(connection) }
                return stored
            }
        }
        if stored > 0 { commits.signal() }
        return (stored, events.count - stored)
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
