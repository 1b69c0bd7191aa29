import ConcordCore
import ConcordProjections

/// What `concord verify` finds of the read models: where the stored rows are not the fold of the
/// log (`ReadModelComparison`), and how far behind the log they stand.
public struct ReadModelCheck: Sendable, Equatable {
    /// Rows (and kept fold states) that are not what folding the log gives; a read-model
    /// version that is not this release's, or a checkpoint the log does not bear out, is one
    /// too (table `projection_state`).
    public var differences: [ReadModelDifference]
    /// Events stored after the position the read models stand at: a catch-up is pending (the
    /// rows were compared with the fold up to where they stand).
    public var eventsBehind: Int64
}

extension SQLiteEventStore {
    /// Whether the stored read models are the fold of the log. Every table is compared row by
    /// row, and every kept fold state byte by byte, with a fold made afresh in this connection's
    /// temporary schema from the events up to the read models' position: no bookkeeping table in
    /// the file is trusted to say what to skip (docs/audit.md). Reads only: it runs on a store
    /// opened read-only. Nil when the store holds no event and no read model was ever built.
    public func readModelDifferences() throws -> [ReadModelDifference]? {
        try checkReadModels()?.differences
    }

    public func checkReadModels() throws -> ReadModelCheck? {
        try withConnection("check the read models") { state in
            let connection = state.connection
            // One read transaction: the position and the rows it stands for are read together.
            return try connection.transaction(immediate: false) { () -> ReadModelCheck? in
                let checkpoint = try Self.projectionCheckpoint(connection)
                let end = try connection.scalarInt("SELECT max(position) FROM events") ?? 0
                func bookkeeping(_ detail: String) -> ReadModelCheck {
                    ReadModelCheck(differences: [ReadModelDifference(table: "projection_state", key: "name=\(Self.projectionName)", kind: .changed, detail: detail)], eventsBehind: 0)
                }
                guard let version = checkpoint.version else {
                    // Never built (a process killed between its first commit and its catch-up):
                    // every event is behind. Rows without a record of what they are are a fault.
                    var rows: Int64 = 0
                    for table in ReadModelSchema.tables + [ReadModelSchema.foldStates]
                    where try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table.name)]) == 1 {
                        rows += try connection.scalarInt("SELECT count(*) FROM main.\(table.name)") ?? 0
                    }
                    if rows > 0 { return bookkeeping("\(rows) read-model row(s) are stored, but no record of where the read models stand") }
                    return end == 0 ? nil : ReadModelCheck(differences: [], eventsBehind: try connection.scalarInt("SELECT count(*) FROM events") ?? 0)
                }
                guard version == ReadModelSchema.version else {
                    return bookkeeping("the read models are at version \(version), and this release folds version \(ReadModelSchema.version): they are not the fold of the log this release would show")
                }
                guard checkpoint.position >= 0, checkpoint.position <= end else {
                    return bookkeeping("the read models claim to stand at position \(checkpoint.position), and the log ends at \(end)")
                }
                let behind = try connection.scalarInt("SELECT count(*) FROM events WHERE position > ?", [.integer(checkpoint.position)]) ?? 0
                let suffix = "__verify"
                connection.resetBusyStatements()
                for table in ReadModelSchema.tables + [ReadModelSchema.foldStates] {
                    try connection.execute("DROP TABLE IF EXISTS temp.\(table.name)\(suffix)")
                    try connection.execute(table.createSQL(schema: "temp", suffix: suffix))
                }
                defer {
                    connection.resetBusyStatements()
                    for table in ReadModelSchema.tables + [ReadModelSchema.foldStates] {
                        try? connection.execute("DROP TABLE IF EXISTS temp.\(table.name)\(suffix)")
                    }
                }
                let writer = try ReadModelWriter(connection, schema: "temp", suffix: suffix, foldStates: "temp.fold_states\(suffix)")
                try Self.foldAll(connection, where: "position <= ?", [.integer(checkpoint.position)], into: writer)
                var differences: [ReadModelDifference] = []
                for table in ReadModelSchema.tables {
                    func rows(_ name: String) throws -> [[SQLValue]] {
                        let statement = try connection.prepare("SELECT \(table.columnNames.joined(separator: ", ")) FROM \(name)")
                        var result: [[SQLValue]] = []
                        while try statement.step() { result.append(Self.row(statement, count: table.columns.count)) }
                        return result
                    }
                    differences += ReadModelComparison.differences(table: table, stored: try rows("main.\(table.name)"), folded: try rows("temp.\(table.name)\(suffix)"))
                }
                // A kept fold state that is not the fold of its stream would make the next
                // catch-up write wrong rows: each kept one is checked like a table's row.
                func states(_ name: String) throws -> [[SQLValue]] {
                    let statement = try connection.prepare("SELECT stream, state FROM \(name)")
                    var result: [[SQLValue]] = []
                    while try statement.step() {
                        let state = statement.blob(1)
                        result.append([.text(statement.text(0)), .text("\(state.count) bytes, sha256 \(EventHash.sha256(state).hex)")])
                    }
                    return result
                }
                // A stream without a kept state is no fault: its next catch-up folds it whole (a
                // store migrated from before 0010 keeps none until then).
                differences += ReadModelComparison.differences(
                    table: ReadModelSchema.foldStates, stored: try states("main.fold_states"), folded: try states("temp.fold_states\(suffix)")
                ).filter { $0.kind != .missing }
                return ReadModelCheck(differences: differences, eventsBehind: behind)
            }
        }
    }
}
