import ConcordCore
import ConcordPostgres
import Foundation

/// A database of its own for each test, on the server `$CONCORD_TEST_POSTGRES_URL` names,
/// dropped when the test ends.
public enum PostgresTestDatabase {
    public static var server: PostgresLocation? {
        guard let url = ProcessInfo.processInfo.environment["CONCORD_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return try? PostgresLocation(url: url)
    }

    /// `options` are appended to `CREATE DATABASE` (a template, a locale).
    public static func with<T>(options: String = "", _ body: (PostgresLocation) async throws -> T) async throws -> T {
        guard let server else { throw ConcordError(.invalidArgument, "set CONCORD_TEST_POSTGRES_URL to run the PostgreSQL tests (scripts/postgres-cluster.sh start)") }
        let name = "concord_test_" + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        try await PostgresAdmin.execute(["CREATE DATABASE \(name) \(options)"], on: server)
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
