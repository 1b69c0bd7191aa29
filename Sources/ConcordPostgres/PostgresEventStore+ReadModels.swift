import ConcordCore
import ConcordDomain
import ConcordProjections
import PostgresNIO

/// The read models as plain PostgreSQL tables, folded by the same rules as on SQLite
/// (`ReadModelRows`, from the domain's `StreamFolder`): equal events give equal digests.
extension PostgresEventStore {
    static let projectionName = "read-models"

    /// Brings the read models up to the end of the log; returns the streams refolded
    /// (`Projector.catchUp`, the same steps as on SQLite: kept fold states extended, or the
    /// stream folded whole).
    @discardableResult
    public func foldNewEvents() async throws -> Int {
        try await catchUpReadModelsCounting().total
    }

    /// `foldNewEvents`, saying which streams went which way (for tests).
    package func catchUpReadModelsCounting() async throws -> Projector.CatchUpCount {
        let now = clock()
        return try await run("update the read models") { connection in
            try await self.runBlocking { try Projector.catchUp(in: PostgresReadModelTransaction(store: self, connection: connection), now: now) }
        }
    }

    /// Folds every stream again from the log, in one transaction (readers see the old rows
    /// until it commits: the tables are emptied, not dropped, while the read models' version is
    /// this build's). Returns the streams folded.
    @discardableResult
    public func rebuildReadModels(progress: (@Sendable (Int, Int) -> Void)?) async throws -> Int {
        let now = clock()
        return try await run("rebuild the read models") { connection in
            try await self.runBlocking { try Projector.rebuild(in: PostgresReadModelTransaction(store: self, connection: connection), now: now, progress: progress) }
        }
    }

    /// Events read a page at a time by `rebuild`.
    static let rebuildPage = 5000

    /// Multi-row INSERTs of read-model rows, table by table.
    static func insertRows(_ rows: [String: [[SQLValue]]], _ connection: PostgresConnection, schema: String = "public", logger: Logger) async throws {
        for (name, tableRows) in rows.sorted(by: { $0.key < $1.key }) where !tableRows.isEmpty {
            guard let table = ReadModelSchema.table(named: name) else { continue }
            try await inChunks(tableRows, width: table.columns.count) { values, bindings in
                try await connection.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO \(schema).\(name) (\(table.columnNames.joined(separator: ", "))) VALUES \(values)", binds: bindings
                ), logger: logger)
            }
        }
    }

    /// Runs `body` for each chunk of `rows` (`rowsPerInsert` at a time) with the chunk's rows as
    /// `($1,$2,…),($3,$4,…)` and their values bound.
    static func inChunks(_ rows: [[SQLValue]], width: Int, _ body: (String, PostgresBindings) async throws -> Void) async throws {
        for start in stride(from: 0, to: rows.count, by: rowsPerInsert) {
            let chunk = rows[start..<min(start + rowsPerInsert, rows.count)]
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
            try await body(values.joined(separator: ","), bindings)
        }
    }

    /// The digest over every read-model table, caught up first (`ReadModelDigest`: the same
    /// bytes hashed as on SQLite).
    public func readModelDigest() async throws -> String {
        try await readModelDigest(.live)
    }

    /// The digest of the read-model tables in `schema` (nil: the store's own).
    func digest(_ connection: PostgresConnection, schema: String?) async throws -> String {
        var digest = ReadModelDigest()
        for table in ReadModelSchema.tables {
            digest.add(table: table, rows: try await Self.rows(of: table, in: schema, connection, logger: logger))
        }
        return digest.finish()
    }

    /// Every row of a read-model table in `schema` (nil: the store's own), as SQLite gives them.
    static func rows(of table: ReadModelSchema.Table, in schema: String?, _ connection: PostgresConnection, logger: Logger) async throws -> [[SQLValue]] {
        let name = schema.map { "\($0).\(table.name)" } ?? table.name
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(table.columnNames.joined(separator: ", ")) FROM \(name)"), logger: logger)
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
        return values
    }

    /// Whether the stored read models are the fold of the log (`Projector.check`, as on
    /// SQLite), in one read-only transaction at one snapshot (the position and the rows it
    /// stands for read together).
    public func checkReadModels() async throws -> ReadModelCheck? {
        try await read("check the read models") { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                let check = try await self.runBlocking { try Projector.check(in: PostgresReadModelTransaction(store: self, connection: connection)) }
                try await connection.query("COMMIT", logger: self.logger)
                return check
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }
}
