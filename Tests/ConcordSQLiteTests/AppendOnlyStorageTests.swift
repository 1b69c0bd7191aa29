import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Testing

/// The database file itself refuses to rewrite history while its triggers stand,
/// whichever SQLite client asks.
struct AppendOnlyStorageTests {
    func storeWithEvents() throws -> (TemporaryDirectory, SQLiteEventStore, SQLiteConnection) {
        let directory = try TemporaryDirectory("append-only")
        let store = try StoreFixtures.createStore(in: directory)
        try store.append((1...3).map { _ in try StoreFixtures.draft() })
        return (directory, store, try SQLiteConnection(path: store.path, flags: [.readWrite]))
    }

    @Test(arguments: [
        "UPDATE events SET data = '{}' WHERE seq = 2",
        "DELETE FROM events WHERE seq = 3",
        "DELETE FROM events",
        "UPDATE seals SET signature = x'00'",
        "DELETE FROM seals",
        "UPDATE origins SET public_key = x'00'",
        "DELETE FROM origins",
        "DELETE FROM incarnations",
        "INSERT OR REPLACE INTO events SELECT * FROM events WHERE seq = 2",
        "REPLACE INTO events (position, origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, prev, data, prev_hash, hash) SELECT position, origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, prev, '{\"x\":1}', prev_hash, hash FROM events WHERE seq = 1",
    ])
    func plainSQLCannotRewriteHistory(sql: String) throws {
        let (directory, store, raw) = try storeWithEvents()
        _ = directory
        let before = try store.readLog(afterPosition: 0, limit: 100)
        let error = #expect(throws: SQLiteError.self) { try raw.execute(sql) }
        #expect(error?.message.hasPrefix("concord:") == true, "message was: \(error?.message ?? "")")
        #expect(try store.readLog(afterPosition: 0, limit: 100) == before)
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func aGapInAnOriginIsRefusedByTheDatabase() throws {
        let (directory, store, raw) = try storeWithEvents()
        _ = directory
        let error = #expect(throws: SQLiteError.self) {
            try raw.execute("INSERT INTO events (origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, prev, data, prev_hash, hash) SELECT origin, 5, 'case:gap', 1, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, '', data, prev_hash, hash FROM events WHERE seq = 3")
        }
        #expect(error?.message.contains("gap") == true)
        #expect(try store.eventCount() == 3)
        // A command reports it as any storage failure: code storage (exit 74), SQLite's words.
        let reported = try #require((error as (any Error)?) as? any ConcordErrorConvertible).concordError
        #expect(reported.code == .storage && reported.message.contains("gap") && reported.message.hasPrefix("SQLite error \(error?.code ?? 0):"), "\(reported)")
        #expect(reported.cause is SQLiteError)
    }

    /// Concord's own connection runs without the triggers (it checks their rules in code, and
    /// firing them was a quarter of an import); the unique index still refuses a duplicate.
    @Test func concordsOwnConnectionSkipsTheTriggersButNotTheUniqueIndex() throws {
        let (directory, store, _) = try storeWithEvents()
        _ = directory
        let duplicate = "INSERT INTO events (origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, prev, data, prev_hash, hash) SELECT origin, seq, 'case:copy', 1, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, '', data, prev_hash, hash FROM events WHERE seq = 2"
        let error = #expect(throws: SQLiteError.self) {
            try store.state.withLock { try $0.connection.execute(duplicate) }
        }
        #expect(error?.message.contains("UNIQUE constraint failed") == true, "message was: \(error?.message ?? "")")
        #expect(try store.eventCount() == 3)
        #expect(try LogVerifier.verify(store).isValid)
    }
}
