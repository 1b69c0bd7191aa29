import ConcordCore
import ConcordDomain
import ConcordProjections
import PostgresNIO

/// The read models as plain PostgreSQL tables, folded by the same rules as on SQLite
/// (`ReadModelRows`, from the domain's `StreamFolder`): equal events give equal digests.
extension PostgresEventStore {
    static let projectionName = "read-models"

    /// Brings the read models up to the end of the log; returns the streams refolded.
    @discardableResult
    public func foldNewEvents() async throws -> Int {
        try await run("update the read models") { connection in try await self.catchUp(connection) }
    }

    /// Folds every stream again from the log, in one transaction (readers see the old rows
    /// until it commits: the tables are emptied, not dropped, while the read models' version is
    /// this build's). Returns the streams folded.
    @discardableResult
    public func rebuildReadModels() async throws -> Int {
        try await run("rebuild the read models") { connection in
            // The checkpoint row first, as catch-up takes it: the two run one after the other.
            let version = try await connection.query(
                "SELECT version FROM projection_state WHERE name = \(Self.projectionName) FOR UPDATE", logger: self.logger
            ).decode(Int64.self).first { _ in true }
            return try await self.rebuild(connection, recreateTables: version != Int64(ReadModelSchema.version))
        }
    }

    /// `catchUpReadModels` inside the caller's transaction. The checkpoint row is locked first,
    /// so concurrent catch-ups (one a request) fold one after another, never the same rows twice.
    func catchUp(_ connection: PostgresConnection) async throws -> Int {
        let checkpoint = try await connection.query(
            "SELECT version, position FROM projection_state WHERE name = \(Self.projectionName) FOR UPDATE", logger: logger
        ).decode((Int64, Int64).self).first { _ in true }
        guard let (version, position) = checkpoint, version == Int64(ReadModelSchema.version) else {
            return try await rebuild(connection, recreateTables: true)
        }
        // Every position up to `last` is committed (positions are handed out in commit order).
        let end = try await logEnd(connection)
        var marked: [String] = []
        for try await stream in try await connection.query("SELECT stream FROM refold_streams", logger: logger).decode(String.self) {
            marked.append(stream)
        }
        guard end > position || !marked.isEmpty else { return 0 }
        var touched: [String] = []
        for try await stream in try await connection.query(
            "SELECT stream FROM events WHERE position > \(position) AND position <= \(end) ORDER BY position", logger: logger
        ).decode(String.self) {
            touched.append(stream)
        }
        let domain = ReadModelFold.streamsToRefold(marked: marked, touched: touched)
        if !domain.isEmpty {
            // Every refolded stream's events in one read, its old rows cleared per table in one
            // statement, its new rows written per table in multi-row inserts.
            var events: [StreamID: [Event]] = [:]
            for stored in try await Self.events(try await connection.query(
                "SELECT \(unescaped: Self.eventColumns) FROM events WHERE stream = ANY(\(domain.map(\.0.rawValue))) AND position <= \(end) ORDER BY stream, position",
                logger: logger
            )) {
                events[stored.event.stream, default: []].append(stored.event)
            }
            // The changes of every refolded stream, carried out together: one DELETE and one
            // multi-row INSERT a table.
            let changes = domain.map { ReadModelFold.change(refolding: $0.stream, kind: $0.kind, events: events[$0.stream] ?? []) }
            var cleared: [String: [String]] = [:]
            var rows: [String: [[SQLValue]]] = [:]
            for change in changes {
                for table in change.cleared { cleared[table, default: []].append(change.stream.rawValue) }
                for (table, tableRows) in change.rows { rows[table, default: []] += tableRows }
            }
            for (table, names) in cleared.sorted(by: { $0.key < $1.key }) {
                var bindings = PostgresBindings()
                bindings.append(names)
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE stream = ANY($1)", binds: bindings), logger: logger)
            }
            try await insertRows(rows, connection)
        }
        try await connection.query("DELETE FROM refold_streams", logger: logger)
        try await connection.query("UPDATE projection_state SET position = \(end) WHERE name = \(Self.projectionName)", logger: logger)
        return domain.count
    }

    /// Folds every stream again. A new read-model version recreates the tables (their columns
    /// may have changed), granting the application roles recorded by `grantApplicationRole`
    /// their privileges again; otherwise the rows are deleted, so readers keep the old ones
    /// until the commit and grants stay.
    private func rebuild(_ connection: PostgresConnection, recreateTables: Bool) async throws -> Int {
        let end = try await logEnd(connection)
        if recreateTables {
            for sql in Self.readModelTablesSQL { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
            for role in try await applicationRoles(connection) {
                for sql in Self.readModelGrantsSQL(role: role) { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
            }
        } else {
            for table in ReadModelSchema.tables { try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table.name)"), logger: logger) }
        }
        var folded = 0
        var current: StreamID?
        var batch: [Event] = []
        func flush() async throws {
            guard let stream = current else { return }
            if StreamKind.parse(stream) != nil {
                try await insertRows(ReadModelRows.rows(stream: stream, events: batch).tables, connection)
                folded += 1
            }
            batch.removeAll(keepingCapacity: true)
        }
        // One pass over the log stream by stream, a page at a time along the unique index on
        // (stream, stream_version): a connection runs one query at a time, so the rows a page's
        // streams fold into are written only once the page has been read to its end. (The order
        // of the streams does not matter: each folds alone.)
        var after: (stream: String, version: Int64)?
        while true {
            let page = try await Self.events(try await connection.query(after.map { after in """
                SELECT \(unescaped: Self.eventColumns) FROM events WHERE (stream, stream_version) > (\(after.stream), \(after.version)) AND position <= \(end)
                ORDER BY stream, stream_version LIMIT \(Int64(Self.rebuildPage))
                """ } ?? """
                SELECT \(unescaped: Self.eventColumns) FROM events WHERE position <= \(end)
                ORDER BY stream, stream_version LIMIT \(Int64(Self.rebuildPage))
                """, logger: logger))
            for stored in page {
                if stored.event.stream != current {
                    try await flush()
                    current = stored.event.stream
                }
                batch.append(stored.event)
            }
            guard page.count == Self.rebuildPage, let last = page.last else { break }
            after = (last.event.stream.rawValue, Int64(last.streamVersion))
        }
        try await flush()
        try await connection.query("DELETE FROM refold_streams", logger: logger)
        try await connection.query("""
            INSERT INTO projection_state (name, version, position, rebuilt_at) VALUES (\(Self.projectionName), \(Int64(ReadModelSchema.version)), \(end), \(clock()))
            ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position, rebuilt_at = EXCLUDED.rebuilt_at
            """, logger: logger)
        return folded
    }

    /// Events read a page at a time by `rebuild`.
    static let rebuildPage = 5000

    private func logEnd(_ connection: PostgresConnection) async throws -> Int64 {
        try await connection.query("SELECT last FROM log_position WHERE id = 1", logger: logger).decode(Int64.self).first { _ in true } ?? 0
    }

    private func insertRows(_ rows: [String: [[SQLValue]]], _ connection: PostgresConnection) async throws {
        for (name, tableRows) in rows.sorted(by: { $0.key < $1.key }) where !tableRows.isEmpty {
            guard let table = ReadModelSchema.table(named: name) else { continue }
            let width = table.columns.count
            for chunk in stride(from: 0, to: tableRows.count, by: Self.rowsPerInsert).map({ tableRows[$0..<min($0 + Self.rowsPerInsert, tableRows.count)] }) {
                var bindings = PostgresBindings(capacity: chunk.count * width)
                var values: [String] = []
                for row in chunk {
                    let base = bindings.count
                    values.append("(" + (1...width).map { "$\(base + $0)" }.joined(separator: ",") + ")")
                    for value in row {
                        switch value {
                        case .null: bindings.appendNull()
                        case .integer(let number): bindings.append(number)
                        case .text(let text): bindings.append(text)
                        }
                    }
                }
                try await connection.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO \(name) (\(table.columnNames.joined(separator: ", "))) VALUES \(values.joined(separator: ","))", binds: bindings
                ), logger: logger)
            }
        }
    }

    /// The digest over every read-model table, caught up first (`ReadModelDigest`: the same
    /// bytes hashed as on SQLite).
    public func readModelDigest() async throws -> String {
        try await foldNewEvents()
        return try await read("read the read models") { connection in
            var digest = ReadModelDigest()
            for table in ReadModelSchema.tables {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(table.columnNames.joined(separator: ", ")) FROM \(table.name)"), logger: self.logger)
                var values: [[SQLValue]] = []
                for try await row in rows {
                    let cells = row.makeRandomAccess()
                    values.append(try table.columns.indices.map { index in
                        if table.columns[index].type == "INTEGER" {
                            return try cells[index].decode(Int64?.self).map(SQLValue.integer) ?? .null
                        }
                        return try cells[index].decode(String?.self).map(SQLValue.text) ?? .null
                    })
                }
                digest.add(table: table, rows: values)
            }
            return digest.finish()
        }
    }

    static func bindings(_ texts: [String]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: texts.count)
        for text in texts { bindings.append(text) }
        return bindings
    }
}
