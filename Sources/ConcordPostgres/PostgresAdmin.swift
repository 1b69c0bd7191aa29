import ConcordCore
import Logging
import PostgresNIO

/// Statements run outside any store, on a connection of their own: making a database or a role
/// (tests, operators' scripts). Each runs on its own, outside a transaction (CREATE DATABASE
/// cannot run inside one).
public enum PostgresAdmin {
    public static func execute(_ statements: [String], on location: PostgresLocation, logger: Logger = Logger(label: "concord.postgres") { _ in SwiftLogNoOpLogHandler() }) async throws {
        try await location.probe(logger: PostgresEventStore.quieter(logger))
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: PostgresEventStore.quieter(logger))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        do {
            for statement in statements {
                try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        } catch {
            throw PostgresEventStore.describe(error, doing: "run \(statements.first ?? "a statement") on \(location)")
        }
    }

    /// The first column of each row a statement returns, as text (NULL as nil).
    public static func values(_ statement: String, on location: PostgresLocation, logger: Logger = Logger(label: "concord.postgres") { _ in SwiftLogNoOpLogHandler() }) async throws -> [String?] {
        try await location.probe(logger: PostgresEventStore.quieter(logger))
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: PostgresEventStore.quieter(logger))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        do {
            var values: [String?] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger) {
                values.append(try row.first?.decode(String?.self) ?? nil)
            }
            return values
        } catch {
            throw PostgresEventStore.describe(error, doing: "run \(statement) on \(location)")
        }
    }
}
