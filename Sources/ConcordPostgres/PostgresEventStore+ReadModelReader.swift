import ConcordCore
import ConcordProjections
import PostgresNIO

/// `concord query`, `show` and `trail` on a hub's PostgreSQL store: the live read models only.
/// A past view (`--as-of`, `--valid-at`) is a replay into scratch tables, which SQLite does in a
/// temporary schema of its own connection; here it would need a schema per reader, so it is not
/// offered, and the error says where it is.
extension PostgresEventStore: ReadModelReader {
    public func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
        try Self.requireLive(view)
        try await foldNewEvents()
        var binds = PostgresBindings(capacity: bindings.count)
        for value in bindings {
            switch value {
            case .null: binds.appendNull()
            case .integer(let integer): binds.append(integer)
            case .text(let text): binds.append(text)
            }
        }
        // The read models are the tables of the store's own schema, named without one.
        let query = PostgresQuery(unsafeSQL: sql.replacing("{schema}.", with: ""), binds: binds)
        return try await read("query the read models") { connection in
            var columns: [String] = []
            var rows: [[SQLValue]] = []
            for try await row in try await connection.query(query, logger: self.logger) {
                if columns.isEmpty { columns = row.map(\.columnName) }
                rows.append(try row.map(Self.value))
            }
            return (columns, rows)
        }
    }

    public func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] {
        try Self.requireLive(view)
        return try await readLog(afterPosition: 0, limit: .max, matching: LogFilter(stream: stream.rawValue), newestFirst: false)
            .sorted { $0.streamVersion < $1.streamVersion }
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

    private static func requireLive(_ view: ReadModelView) throws {
        guard view == .live else {
            throw ConcordError(.invalidArgument, "a PostgreSQL store keeps its read models live only: --as-of and --valid-at replay history on a store file (concord copy makes one of the hub)")
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
