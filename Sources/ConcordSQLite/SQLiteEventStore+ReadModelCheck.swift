import ConcordCore
import ConcordProjections

extension SQLiteEventStore {
    /// Whether the stored read models are the fold of the log (`Projector.check`), in one read
    /// transaction. Reads only: it runs on a store opened read-only.
    public func readModelDifferences() throws -> [ReadModelDifference]? {
        try checkReadModels()?.differences
    }

    public func checkReadModels() throws -> ReadModelCheck? {
        try withConnection("check the read models") { state in
            try state.connection.transaction(immediate: false) { try Projector.check(in: SQLiteReadModelTransaction(state.connection)) }
        }
    }
}

extension SQLiteReadModelTransaction: ReadModelCheckTransaction {
    func storedProjectionState() throws -> (version: Int, position: Int64)? {
        try projectionState()
    }

    func eventCount(after position: Int64) throws -> Int64 {
        try connection.scalarInt("SELECT count(*) FROM events WHERE position > ?", [.integer(position)]) ?? 0
    }

    func storedReadModelRowCount() throws -> Int64 {
        var rows: Int64 = 0
        for table in ReadModelSchema.tables + [ReadModelSchema.foldStates]
        where try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table.name)]) == 1 {
            rows += try connection.scalarInt("SELECT count(*) FROM main.\(table.name)") ?? 0
        }
        return rows
    }

    func storedRows(of table: ReadModelSchema.Table) throws -> [[SQLValue]] {
        let statement = try connection.prepare("SELECT \(table.columnNames.joined(separator: ", ")) FROM main.\(table.name)")
        var rows: [[SQLValue]] = []
        while try statement.step() { rows.append(SQLiteEventStore.row(statement, count: table.columns.count)) }
        return rows
    }

    func storedFoldStates() throws -> [(stream: String, state: [UInt8])] {
        let statement = try connection.prepare("SELECT stream, state FROM main.fold_states")
        var states: [(stream: String, state: [UInt8])] = []
        while try statement.step() { states.append((statement.text(0), statement.blob(1))) }
        return states
    }
}
