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
}
