import ConcordCore
import ConcordInMemory
import ConcordPostgres
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

