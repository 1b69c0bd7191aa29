import ConcordCore
import ConcordDomain
import ConcordProjections

extension SQLiteEventStore: ReadModelStore {
    static let projectionName = "read-models"

    /// Brings the live read models up to the end of the log: refolds every stream that gained
    /// events since the checkpoint, in one transaction with the new checkpoint. Rebuilds instead
    /// when the projection version changed. Returns the number of streams refolded.
    @discardableResult
    public func catchUpProjections() throws -> Int {
        try catchUpProjectionsCounting().total
    }

    /// How a catch-up went (`Projector.CatchUpCount`).
    package typealias CatchUpCount = Projector.CatchUpCount

    /// `catchUpProjections`, saying which streams went which way (for tests).
    package func catchUpProjectionsCounting() throws -> CatchUpCount {
        try withConnection("update the read models") { state in
            let count = try state.connection.transaction { try Self.catchUpCounting(state.connection) }
            // An erasure whose WAL another reader held (here, or in another process) is scrubbed
            // at the next catch-up: a long-running server does not keep the bytes until restart.
            try Self.scrubIfPending(state.connection)
            return count
        }
    }

    /// `catchUpProjections` inside the caller's write transaction. Also refolds the streams
    /// marked in `refold_streams` (an opening arrived or was erased: no event was added to them).
    static func catchUp(_ connection: SQLiteConnection) throws -> Int {
        try catchUpCounting(connection).total
    }

    static func catchUpCounting(_ connection: SQLiteConnection) throws -> CatchUpCount {
        try Projector.catchUp(in: SQLiteReadModelTransaction(connection), now: Timestamp.nowMillis())
    }

    /// Rebuilds every read model from the log into side tables and swaps them in, atomically:
    /// readers see the old tables until the new ones are complete. Returns the streams folded.
    @discardableResult
    public func rebuildProjections() throws -> Int {
        try rebuildProjections(progress: nil)
    }

    /// Rebuilds, reporting `(streams folded, streams in all)` as it goes.
    @discardableResult
    public func rebuildProjections(progress: ((Int, Int) -> Void)?) throws -> Int {
        try withConnection("rebuild the read models") { state in
            try state.connection.transaction { try Self.rebuild(state.connection, progress: progress) }
        }
    }

    public func projectionStatus() throws -> ProjectionStatus {
        try withConnection("read the projection state") { state in
            let statement = try state.connection.cached("SELECT version, position, rebuilt_at FROM projection_state WHERE name = ?")
            try statement.bind(1, Self.projectionName)
            let end = try state.connection.scalarInt("SELECT max(position) FROM events") ?? 0
            guard try statement.step() else {
                return ProjectionStatus(version: nil, currentVersion: ReadModelSchema.version, position: 0, logPosition: end, rebuiltAt: nil)
            }
            return ProjectionStatus(
                version: Int(statement.int64(0)), currentVersion: ReadModelSchema.version,
                position: statement.int64(1), logPosition: end, rebuiltAt: statement.int64(2)
            )
        }
    }

    /// The digest over every read-model table in the given view.
    public func readModelDigest(_ view: ReadModelView = .live) throws -> String {
        if view == .live { try catchUpProjections() }
        return try withReadModels(view) { connection, schema in
            try Self.digest(connection, schema: schema)
        }
    }

    /// The digest of the read models a peer folds from what `policy` lets it receive of the
    /// events `view` names (each event as `SharingPolicy.shared` turns it: `export --for` and
    /// `export --audit --for` write exactly those events). Never the live tables: always folded.
    public func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) throws -> String {
        try withReadModels(view, forceFold: true, transform: policy.shared) { connection, schema in
            try Self.digest(connection, schema: schema)
        }
    }

    private static func digest(_ connection: SQLiteConnection, schema: String) throws -> String {
        var digest = ReadModelDigest()
        for table in ReadModelSchema.tables {
            let statement = try connection.prepare("SELECT \(table.columnNames.joined(separator: ", ")) FROM \(schema).\(table.name)")
            var rows: [[SQLValue]] = []
            while try statement.step() { rows.append(Self.row(statement, count: table.columns.count)) }
            digest.add(table: table, rows: rows)
        }
        return digest.finish()
    }

    /// Runs a read-only query against the read models of a view. The SQL names tables through
    /// `{schema}`, which is replaced by the schema holding the view's tables.
    public func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue] = []) throws -> (columns: [String], rows: [[SQLValue]]) {
        if view == .live { try catchUpProjections() }
        return try withReadModels(view) { connection, schema in
            let statement = try connection.prepare(sql.replacingSchema(with: schema))
            try statement.bind(bindings.map(\.sqliteValue))
            let columns = statement.columnNames
            var rows: [[SQLValue]] = []
            while try statement.step() { rows.append(Self.row(statement, count: columns.count)) }
            return (columns, rows)
        }
    }

    /// A domain stream's record, folded from the events this node holds (or held at `view`).
    public func record(of stream: StreamID, _ view: ReadModelView = .live) throws -> StreamRecord? {
        let events = try withConnection("read stream \(stream)") { state -> [Event] in
            switch view {
            case .live: try Self.events(state.connection, where: "stream = ?", [.text(stream.rawValue)])
            case .asOf(let time): try Self.events(state.connection, where: "stream = ? AND stored_at <= ?", [.text(stream.rawValue), .integer(time)])
            case .validAt(let time): try Self.events(state.connection, where: "stream = ? AND occurred_at <= ?", [.text(stream.rawValue), .integer(time)])
            case .seenBy(let vector, _):
                try Self.events(state.connection, where: "stream = ?", [.text(stream.rawValue)]).filter { $0.seq <= vector[$0.origin] }
            }
        }
        return StreamFolder.fold(stream, events: events)
    }

    // MARK: Internals

    /// Runs `body` over the read models of `view`: the live tables, or (for a past view, with
    /// `forceFold`, or with `transform`) tables folded afresh in memory from the events the view
    /// names, each passed through `transform` first.
    private func withReadModels<T>(
        _ view: ReadModelView, forceFold: Bool = false, transform: (@Sendable (Event) -> Event)? = nil,
        _ body: (SQLiteConnection, String) throws -> T
    ) throws -> T {
        try withConnection("read the read models") { state in
            let connection = state.connection
            switch view {
            case .live where !forceFold && transform == nil:
                return try body(connection, "main")
            case .live, .asOf, .validAt, .seenBy:
                // Fold the events the view names into an in-memory schema and query that.
                defer {
                    connection.resetBusyStatements()
                    try? connection.execute("DETACH DATABASE replay")
                }
                let schema = try Projector.replay(view, transform: transform, into: SQLiteReplayTransaction(connection))
                return try body(connection, schema)
            }
        }
    }

    static func projectionCheckpoint(_ connection: SQLiteConnection) throws -> (version: Int?, position: Int64) {
        let statement = try connection.cached("SELECT version, position FROM projection_state WHERE name = ?")
        try statement.bind(1, projectionName)
        guard try statement.step() else { return (nil, 0) }
        return (Int(statement.int64(0)), statement.int64(1))
    }

    static func saveCheckpoint(_ connection: SQLiteConnection, position: Int64, rebuilt: Bool = false) throws {
        if rebuilt {
            try connection.cached("INSERT OR REPLACE INTO projection_state (name, version, position, rebuilt_at) VALUES (?, ?, ?, ?)")
                .run([.text(projectionName), .integer(Int64(ReadModelSchema.version)), .integer(position), .integer(Timestamp.nowMillis())])
        } else {
            try connection.cached("UPDATE projection_state SET position = ? WHERE name = ?").run([.integer(position), .text(projectionName)])
        }
    }

    /// Folds every domain stream into `__rebuild` tables, then swaps them in place of the live ones.
    static func rebuild(_ connection: SQLiteConnection, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        try Projector.rebuild(in: SQLiteReadModelTransaction(connection), now: Timestamp.nowMillis(), progress: progress)
    }

    /// The bounds of a kind's streams (`case:…` lies between `case:` and `case;`) for
    /// `stream > ? AND stream < ?`, a range of the stream index. Only domain streams have
    /// read-model rows, so folds read no others.
    static func streamRange(_ kind: StreamKind) -> [SQLiteValue] {
        [.text(kind.rawValue + ":"), .text(kind.rawValue + ";")]
    }

    /// Folds every domain stream whose events match the filter, writing each stream's rows.
    @discardableResult
    static func foldAll(
        _ connection: SQLiteConnection, where filter: String, _ bindings: [SQLiteValue], into writer: ReadModelWriter,
        transform: ((Event) -> Event)? = nil
    ) throws -> Int {
        var streams = 0
        try forEachStream(connection, where: filter, bindings) { stream, events, _ in
            try writer.insert(stream: stream, events: transform.map { events.map($0) } ?? events)
            streams += 1
        }
        return streams
    }

    /// Reads every domain stream's events that match the filter, a stream at a time: one range
    /// scan of the stream index a kind (an OR of the ranges would be answered by a scan of every
    /// event, then a sort).
    /// `withStoredAt`: each event's `stored_at` too, in the third array (else it is empty).
    static func forEachStream(
        _ connection: SQLiteConnection, where filter: String, _ bindings: [SQLiteValue], withStoredAt: Bool = false,
        _ body: (StreamID, [Event], [Int64]) throws -> Void
    ) throws {
        var current: String?
        var batch: [Event] = []
        var storedAt: [Int64] = []
        func flush() throws {
            guard let stream = current else { return }
            try body(StreamID(unchecked: stream), batch, storedAt)
            batch.removeAll(keepingCapacity: true)
            storedAt.removeAll(keepingCapacity: true)
        }
        let columns = withStoredAt ? foldColumns + ", stored_at" : foldColumns
        for kind in StreamKind.allCases {
            let statement = try connection.prepare(
                "SELECT \(columns) FROM events WHERE stream > ? AND stream < ? AND (\(filter)) ORDER BY stream"
            )
            try statement.bind(streamRange(kind) + bindings)
            while try statement.step() {
                let event = decodeEvent(statement).event
                if event.stream.rawValue != current {
                    try flush()
                    current = event.stream.rawValue
                }
                batch.append(event)
                if withStoredAt { storedAt.append(statement.int64(20)) }
            }
        }
        try flush()
    }

    /// `eventColumns` for folding: what a fold does not use (causation and correlation ids, the
    /// hashes) reads as NULL, which saves decoding them. Events read this way are for folds only.
    static let foldColumns = """
        position, origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,
        actor, NULL, NULL, prev, data, NULL, NULL, commitment, NULL, disclosure
        """

    /// A stream's events, read for folding (see `foldColumns`).
    static func events(_ connection: SQLiteConnection, where filter: String, _ bindings: [SQLiteValue]) throws -> [Event] {
        let statement = try connection.prepare("SELECT \(foldColumns) FROM events WHERE \(filter)")
        try statement.bind(bindings)
        var events: [Event] = []
        while try statement.step() { events.append(decodeEvent(statement).event) }
        return events
    }

    static func row(_ statement: SQLiteStatement, count: Int) -> [SQLValue] {
        (0..<Int32(count)).map { column in
            switch statement.columnType(column) {
            case .null: .null
            case .integer: .integer(statement.int64(column))
            case .text: .text(statement.text(column))
            }
        }
    }
}

/// Writes streams' read-model rows into one set of tables, and (`keepsFolds`) their fold states
/// into that schema's `fold_states`.
final class ReadModelWriter {
    private let connection: SQLiteConnection
    private var inserts: [String: SQLiteStatement] = [:]
    private var deletes: [String: SQLiteStatement] = [:]
    private var deletesByKey: [String: (statement: SQLiteStatement, key: [Int])] = [:]
    private let folds: (read: SQLiteStatement, write: SQLiteStatement, drop: SQLiteStatement)?

    /// `foldStates` names the table fold states go to (with `keepsFolds`, `SCHEMA.fold_states`).
    init(_ connection: SQLiteConnection, schema: String, suffix: String, keepsFolds: Bool = false, foldStates: String? = nil) throws {
        self.connection = connection
        for table in ReadModelSchema.tables {
            let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
            inserts[table.name] = try connection.prepare("INSERT INTO \(schema).\(table.name)\(suffix) VALUES (\(placeholders))")
            deletes[table.name] = try connection.prepare("DELETE FROM \(schema).\(table.name)\(suffix) WHERE stream = ?")
            let key = table.primaryKeyIndexes
            let condition = table.primaryKey.map { "\($0) = ?" }.joined(separator: " AND ")
            deletesByKey[table.name] = (try connection.prepare("DELETE FROM \(schema).\(table.name)\(suffix) WHERE \(condition)"), key)
        }
        let states = foldStates ?? (keepsFolds ? "\(schema).fold_states" : nil)
        folds = try states.map { states in (
            try connection.prepare("SELECT state FROM \(states) WHERE stream = ?"),
            try connection.prepare("INSERT OR REPLACE INTO \(states) (stream, state) VALUES (?, ?)"),
            try connection.prepare("DELETE FROM \(states) WHERE stream = ?")
        ) }
    }

    /// Adds a stream's rows (the stream has none yet), and its fold state.
    func insert(stream: StreamID, events: [Event]) throws {
        let fold = StreamFolder.foldState(stream, events: events)
        let rows = ReadModelRows.rows(stream: stream, events: events, fold: fold)
        assert(
            rows.tables.keys.allSatisfy { table in StreamKind.parse(stream).map { ReadModelSchema.tableNames(for: $0.kind).contains(table) } ?? false },
            "ReadModelSchema.tableNames(for:) must list every table a stream of this kind fills"
        )
        try insert(rows.tables)
        if let fold, !fold.hasUndisclosed { try keep(fold) }
    }

    private func keep(_ fold: StreamFold) throws {
        guard let write = folds?.write else { return }
        var fold = fold
        // Events read for folding leave their hashes out: the tail's is read here, once a stream.
        if fold.tailHash == nil, let tail = fold.tail {
            let hash = try connection.cached("SELECT hash FROM main.events WHERE origin = ? AND seq = ?")
            try hash.bind([.text(tail.id.origin.hex), .integer(Int64(bitPattern: tail.id.seq))])
            fold.tailHash = try hash.step() ? EventHash(bytes: hash.blob(0)) : nil
            hash.reset()
        }
        write.reset()
        try write.run([.text(fold.stream.rawValue), .blob(fold.encoded())])
    }

    private func insert(_ rows: [String: [[SQLValue]]]) throws {
        for (table, tableRows) in rows {
            let statement = inserts[table]!
            for row in tableRows {
                statement.reset()
                try statement.bind(row.map(\.sqliteValue))
                try statement.step()
            }
        }
    }

    /// Carries out a change: the stream's rows cleared from the tables it names, rows deleted by
    /// key, new rows written, and the fold state kept (or dropped).
    func apply(_ write: ReadModelWrite) throws {
        let change = write.change
        for table in change.cleared {
            let statement = deletes[table]!
            statement.reset()
            try statement.run([.text(change.stream.rawValue)])
        }
        for (table, rows) in change.deleted {
            let (statement, key) = deletesByKey[table]!
            for row in rows {
                statement.reset()
                try statement.run(key.map { row[$0].sqliteValue })
            }
        }
        try insert(change.rows)
        switch write.foldState {
        case .keep(let state):
            guard let write = folds?.write else { break }
            write.reset()
            try write.run([.text(change.stream.rawValue), .blob(state)])
        case .drop:
            guard let drop = folds?.drop else { break }
            drop.reset()
            try drop.run([.text(change.stream.rawValue)])
        case .leave:
            break
        }
    }
}

extension SQLValue {
    var sqliteValue: SQLiteValue {
        switch self {
        case .null: .null
        case .integer(let value): .integer(value)
        case .text(let value): .text(value)
        }
    }
}

extension String {
    fileprivate func replacingSchema(with schema: String) -> String {
        replacing("{schema}", with: schema)
    }
}
