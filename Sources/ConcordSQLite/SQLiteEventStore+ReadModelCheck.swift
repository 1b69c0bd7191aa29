import ConcordCore
import ConcordProjections

extension SQLiteEventStore {
    /// Where the stored read models are not the fold of the log (`ReadModelComparison`): the
    /// events up to the read models' checkpoint are folded again into a scratch schema and every
    /// table compared row by row. Reads only; streams waiting for a refold (an opening arrived)
    /// are left out, as the next catch-up rewrites them. Nil when there are no read models to
    /// check (never built, or built by another release: `projections rebuild` makes them).
    public func readModelDifferences() throws -> [ReadModelDifference]? {
        try withConnection("check the read models") { state in
            let connection = state.connection
            // (SQLite attaches only outside a transaction.)
            try connection.execute("ATTACH DATABASE ':memory:' AS refold")
            defer {
                connection.resetBusyStatements()
                try? connection.execute("DETACH DATABASE refold")
            }
            // One read transaction: the checkpoint and the rows it stands for are read together.
            return try connection.transaction(immediate: false) { () -> [ReadModelDifference]? in
                let checkpoint = try Self.projectionCheckpoint(connection)
                guard checkpoint.version == ReadModelSchema.version else { return nil }
                for table in ReadModelSchema.tables { try connection.execute(table.createSQL(schema: "refold")) }
                try connection.execute("CREATE TABLE refold.fold_states (stream TEXT PRIMARY KEY, state BLOB NOT NULL)")
                let writer = try ReadModelWriter(connection, schema: "refold", suffix: "", keepsFolds: true)
                try Self.foldAll(connection, where: "position <= ?", [.integer(checkpoint.position)], into: writer)
                var differences: [ReadModelDifference] = []
                for table in ReadModelSchema.tables {
                    func rows(_ schema: String) throws -> [[SQLValue]] {
                        let statement = try connection.prepare(
                            "SELECT \(table.columnNames.joined(separator: ", ")) FROM \(schema).\(table.name) WHERE stream NOT IN (SELECT stream FROM main.refold_streams)"
                        )
                        var result: [[SQLValue]] = []
                        while try statement.step() { result.append(Self.row(statement, count: table.columns.count)) }
                        return result
                    }
                    differences += ReadModelComparison.differences(table: table, stored: try rows("main"), folded: try rows("refold"))
                }
                // A kept fold state that is not the fold of its stream would make the next
                // catch-up write wrong rows: each kept one is checked like a table's row.
                func states(_ schema: String) throws -> [[SQLValue]] {
                    let statement = try connection.prepare(
                        "SELECT stream, state FROM \(schema).fold_states WHERE stream NOT IN (SELECT stream FROM main.refold_streams)"
                    )
                    var result: [[SQLValue]] = []
                    while try statement.step() {
                        let state = statement.blob(1)
                        result.append([.text(statement.text(0)), .text("\(state.count) bytes, sha256 \(EventHash.sha256(state).hex)")])
                    }
                    return result
                }
                // A stream without a kept state is no fault: its next catch-up folds it whole (a
                // store migrated from before 0010 keeps none until then).
                differences += ReadModelComparison.differences(table: ReadModelSchema.foldStates, stored: try states("main"), folded: try states("refold"))
                    .filter { $0.kind != .missing }
                return differences
            }
        }
    }
}
