import ConcordCore
import ConcordProjections
import PostgresNIO

/// `concord query`, `show`, `trail` and `digest` on a hub's PostgreSQL store: the live read
/// models, or a past view (`--as-of`, `--valid-at`, `--seen-by`, or as a peer folds what it is
/// sent) replayed by `Projector.replay` into
/// temporary tables of one transaction, which is rolled back.
extension PostgresEventStore: ReadModelReader {
    public func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
        var binds = PostgresBindings(capacity: bindings.count)
        for value in bindings {
            switch value {
            case .null: binds.appendNull()
            case .integer(let integer): binds.append(integer)
            case .text(let text): binds.append(text)
            }
        }
        let binding = binds
        return try await withReadModels(view, "query the read models") { connection, schema in
            // The live read models are the tables of the store's own schema, named without one.
            let query = PostgresQuery(unsafeSQL: sql.replacing("{schema}.", with: schema.map { "\($0)." } ?? ""), binds: binding)
            let result = try await connection.query(query, logger: self.logger)
            // From the result's description, so a query that matches no row still names its
            // columns (as SQLite's statement does).
            let columns = result.columns.map(\.name)
            var rows: [[SQLValue]] = []
            for try await row in result { rows.append(try row.map(Self.value)) }
            return (columns, rows)
        }
    }

    public func readModelDigest(_ view: ReadModelView) async throws -> String {
        try await withReadModels(view, "read the read models") { connection, schema in try await self.digest(connection, schema: schema) }
    }

    public func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) async throws -> String {
        try await withReadModels(view, "read the read models", transform: policy.shared) { connection, schema in try await self.digest(connection, schema: schema) }
    }

    public func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] {
        try await read("read stream \(stream)") { connection in
            var events: [StoredEvent] = []
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.eventColumns), stored_at FROM events WHERE stream = \(stream.rawValue) ORDER BY stream_version", logger: self.logger
            ) {
                let stored = try Self.decodeEvent(row)
                if view.includes(stored.event, storedAt: try row.makeRandomAccess()[20].decode(Int64.self)) { events.append(stored) }
            }
            return events
        }
    }

    /// Runs `body` over the read models of `view`: the live tables (schema nil), caught up first,
    /// or, for a past view, temporary tables the engine folds the view's events into, in a
    /// transaction rolled back afterwards (nothing is written; a hot standby cannot do it).
    func withReadModels<T: Sendable>(
        _ view: ReadModelView, _ what: String, transform: (@Sendable (Event) -> Event)? = nil, _ body: (PostgresConnection, String?) async throws -> T
    ) async throws -> T {
        if view == .live, transform == nil {
            try await foldNewEvents()
            return try await read(what) { connection in try await body(connection, nil) }
        }
        return try await read(what) { connection in
            try await connection.query("BEGIN", logger: self.logger)
            do {
                let schema = try await self.runBlocking { try Projector.replay(view, transform: transform, into: PostgresReplayTransaction(store: self, connection: connection)) }
                let result = try await body(connection, schema)
                try await connection.query("ROLLBACK", logger: self.logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    public func projectionStatus() async throws -> ProjectionStatus {
        try await read("read the projection state") { connection in
            let row = try await connection.query("""
                SELECT p.version, p.position, p.rebuilt_at, (SELECT coalesce(max(position), 0) FROM events)
                FROM (SELECT 1) AS one LEFT JOIN projection_state p ON p.name = \(Self.projectionName)
                """, logger: self.logger).decode((Int64?, Int64?, Int64?, Int64).self).first { _ in true }
            let (version, position, rebuilt, end) = row ?? (nil, nil, nil, 0)
            return ProjectionStatus(version: version.map(Int.init), currentVersion: ReadModelSchema.version, position: position ?? 0, logPosition: end, rebuiltAt: rebuilt)
        }
    }

    /// A read-model cell as SQLite would give it: a bigint as an integer, text as text.
    private static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        default: return .text(try cell.decode(String.self))
        }
    }
}
