import ConcordCore
import ConcordInMemory
import ConcordPostgres
import ConcordProjections
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Foundation
import Testing

/// The backends the conformance suite runs every test body against. PostgreSQL is among them
/// when `$CONCORD_TEST_POSTGRES_URL` names a server (CI starts one: scripts/postgres-cluster.sh).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    case memory

    var testDescription: String { rawValue }

    static var underTest: [Backend] {
        PostgresTestDatabase.server == nil ? [.sqlite, .memory] : allCases
    }

    /// A new, empty store of this backend, of its own (a temporary file, a new database), made
    /// for one test and removed after it.
    func withStore<T>(named node: String = "hub", _ body: (any HubBackend) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory("conformance-\(node)")
            let store = try SQLiteEventStore.create(at: directory.file("\(node).sqlite"), nodeName: node, options: .init(durability: .normal), logger: StoreFixtures.quietLogger)
            let result = try await body(SQLiteSyncBackend(store: store))
            withExtendedLifetime(directory) {}
            return result
        case .memory:
            return try await body(InMemoryStore(nodeName: node))
        case .postgres:
            return try await PostgresTestDatabase.with { location in
                let store = try await PostgresEventStore.create(location, nodeName: node, logger: StoreFixtures.quietLogger)
                // As `concord init --hub` leaves it: a key in a file of its own to sign with.
                store.useSigningKey(NodeKey())
                do {
                    let result = try await body(store)
                    await store.close()
                    return result
                } catch {
                    await store.close()
                    throw error
                }
            }
        }
    }
}


extension Backend {
    /// Catches the store's read models up, saying how many streams were folded onward from a
    /// kept state and how many whole (SQLite and PostgreSQL run `Projector.catchUp`).
    static func catchUpCounting(_ store: any HubBackend) async throws -> Projector.CatchUpCount {
        if let sqlite = store as? SQLiteSyncBackend { return try sqlite.store.catchUpProjectionsCounting() }
        if let postgres = store as? PostgresEventStore { return try await postgres.catchUpReadModelsCounting() }
        Issue.record("no counting catch-up for \(type(of: store))")
        return Projector.CatchUpCount()
    }

    /// Raw SQL on the store's own database, as an insider with `sqlite3` or `psql` would run it.
    static func execute(_ statement: String, on store: any HubBackend) async throws {
        if let sqlite = store as? SQLiteSyncBackend {
            try SQLiteConnection(path: sqlite.store.path, flags: [.readWrite]).execute(statement)
        } else if let postgres = store as? PostgresEventStore {
            try await PostgresAdmin.execute([statement], on: postgres.location)
        } else {
            Issue.record("no raw SQL for \(type(of: store))")
        }
    }

    /// The kept fold states (`fold_states`), by stream, as stored.
    static func foldStates(_ store: any HubBackend) async throws -> [String: [UInt8]] {
        if let sqlite = store as? SQLiteSyncBackend {
            let connection = try SQLiteConnection(path: sqlite.store.path, flags: [.readOnly])
            let rows = try connection.prepare("SELECT stream, state FROM fold_states")
            var states: [String: [UInt8]] = [:]
            while try rows.step() { states[rows.text(0)] = rows.blob(1) }
            return states
        }
        if let postgres = store as? PostgresEventStore {
            let rows = try await PostgresStoreTests.sql(postgres.location, "SELECT stream, encode(state, 'hex') FROM fold_states")
            return Dictionary(uniqueKeysWithValues: try rows.map { row in (row[0] ?? "", try #require(Hex.decode(row[1] ?? "-"))) })
        }
        Issue.record("no fold states for \(type(of: store))")
        return [:]
    }
}

extension Backend {
    /// `concord verify`'s read-model check of the store (`Projector.check` on either backend).
    static func checkReadModels(_ store: any HubBackend) async throws -> ReadModelCheck? {
        if let sqlite = store as? SQLiteSyncBackend { return try sqlite.store.checkReadModels() }
        if let postgres = store as? PostgresEventStore { return try await postgres.checkReadModels() }
        Issue.record("no read-model check for \(type(of: store))")
        return nil
    }
}

extension Backend {
    /// `concord verify`'s checkpoint check of the store (`Checkpoints.faults` on either backend).
    static func checkpointFaults(_ store: any HubBackend) async throws -> [VerificationFault] {
        if let sqlite = store as? SQLiteSyncBackend { return try sqlite.store.checkpointFaults() }
        if let postgres = store as? PostgresEventStore { return try await postgres.checkpointFaults() }
        Issue.record("no checkpoint check for \(type(of: store))")
        return []
    }
}
