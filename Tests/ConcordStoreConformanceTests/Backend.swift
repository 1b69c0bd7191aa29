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

/// A database of its own for each test, on the server `$CONCORD_TEST_POSTGRES_URL` names,
/// dropped when the test ends.
enum PostgresTestDatabase {
    static var server: PostgresLocation? {
        guard let url = ProcessInfo.processInfo.environment["CONCORD_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return try? PostgresLocation(url: url)
    }

    static func with<T>(_ body: (PostgresLocation) async throws -> T) async throws -> T {
        guard let server else { throw ConcordError(.invalidArgument, "set CONCORD_TEST_POSTGRES_URL to run the PostgreSQL tests (scripts/postgres-cluster.sh start)") }
        let name = "concord_test_" + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        try await PostgresAdmin.execute(["CREATE DATABASE \(name)"], on: server)
        do {
            let result = try await body(server.database(name))
            try await PostgresAdmin.execute(["DROP DATABASE \(name) WITH (FORCE)"], on: server)
            return result
        } catch {
            try? await PostgresAdmin.execute(["DROP DATABASE \(name) WITH (FORCE)"], on: server)
            throw error
        }
    }
}
