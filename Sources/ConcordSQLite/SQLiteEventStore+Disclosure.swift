#if canImport(Glibc)
import Glibc
#endif
import ConcordCore

/// Openings that arrive after their stubs, and erasures that destroy them (docs/privacy.md).
extension SQLiteEventStore {
    /// Keeps the openings of held stubs (verified against their commitments by `BatchVerifier`).
    /// An opening this node erased is not stored again. Returns how many were stored.
    static func storeOpenings(_ events: [Event], _ connection: SQLiteConnection) throws -> Int {
        var stored = 0
        let update = try connection.cached("""
            UPDATE events SET actor = ?, causation_id = ?, correlation_id = ?, data = ?, salt = ?, disclosure = 0
            WHERE origin = ? AND seq = ? AND disclosure = 1 AND commitment = ?
            """)
        for event in events where event.disclosure == .full && event.commitment != nil {
            try update.run([
                .text(event.actor), event.causationID.map { .text($0) } ?? .null, event.correlationID.map { .text($0) } ?? .null,
                .text(event.payload), .blob(event.salt), .text(event.origin.hex), .integer(Int64(bitPattern: event.seq)),
                .blob(event.commitment!.bytes),
            ])
            update.reset()
            if connection.changes > 0 {
                stored += 1
                try markForRefold(event.stream, connection)
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
        }
        return erased
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
    /// the WAL, so the erased bytes are in no file (`secure_delete` zeroed them in the pages).
    /// A store made before need-to-know may hold old copies in free pages (it ran without
    /// `secure_delete`): it is vacuumed once. Returns false when another connection kept the
    /// WAL from being truncated (it is then truncated at a later erasure or checkpoint).
    @discardableResult
    func scrubAfterErasure() -> Bool {
        (try? withConnection("scrub erased data") { state in try Self.scrub(state.connection) }) ?? false
    }

    /// `scrubAfterErasure` on a connection the caller holds (outside any transaction).
    static func scrub(_ connection: SQLiteConnection) throws -> Bool {
            connection.resetBusyStatements()
            if try connection.scalarText("SELECT value FROM settings WHERE name = 'free_pages_zeroed'") == nil {
                try connection.execute("VACUUM")
                try connection.execute("INSERT OR REPLACE INTO settings (name, value) VALUES ('free_pages_zeroed', '1')")
            }
            for _ in 0..<20 {
                let statement = try connection.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
                guard try statement.step() else { return false }
                if statement.int64(0) == 0 { return true }
                usleep(50_000)
            }
            return false
    }
}
