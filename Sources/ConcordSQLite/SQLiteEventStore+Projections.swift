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

    /// How a catch-up went: streams folded onward from their kept state, and streams folded
    /// again whole (a rebuild counts every stream as folded whole).
    package struct CatchUpCount: Sendable, Equatable {
        package var extended = 0
        package var refolded = 0
        package var total: Int { extended + refolded }
    }

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
        let (version, position) = try Self.projectionCheckpoint(connection)
        guard version == ReadModelSchema.version else {
            try connection.execute("DELETE FROM refold_streams")
            return CatchUpCount(refolded: try Self.rebuild(connection))
        }
        let end = try connection.scalarInt("SELECT max(position) FROM events") ?? 0
        var marked: [String] = []
        let markedRows = try connection.prepare("SELECT stream FROM refold_streams")
        while try markedRows.step() { marked.append(markedRows.text(0)) }
        guard end > position || !marked.isEmpty else { return CatchUpCount() }
        // Not SELECT DISTINCT: SQLite would answer that by scanning the whole stream index. Each
        // name is kept once, in the order the streams first gained events (an initial sync of a
        // million events names a few thousand streams, not a million strings).
        var touched: [String] = []
        var seen: Set<String> = []
        let touchedRows = try connection.prepare("SELECT stream FROM events WHERE position > ? ORDER BY position")
        try touchedRows.bind(1, position)
        while try touchedRows.step() {
            let name = touchedRows.text(0)
            if seen.insert(name).inserted { touched.append(name) }
        }
        let writer = try ReadModelWriter(connection, schema: "main", suffix: "", keepsFolds: true)
        let streams = ReadModelFold.streamsToRefold(marked: marked, touched: touched)
        let markedStreams = Set(marked)
        var count = CatchUpCount()
        for (stream, kind) in streams {
            // Onward from the kept state when the events stored since all sort after it (the
            // common case: an event costs its own fold); else the whole stream again.
            if !markedStreams.contains(stream.rawValue), let kept = try writer.keptFold(of: stream, at: position) {
                let added = try Self.events(connection, where: "stream = ? AND position > ?", [.text(stream.rawValue), .integer(position)])
                if let change = ReadModelFold.change(extending: kept, with: added) {
                    try writer.apply(change)
                    count.extended += 1
                    continue
                }
            }
            let events = try Self.events(connection, where: "stream = ?", [.text(stream.rawValue)])
            try writer.apply(ReadModelFold.change(refolding: stream, kind: kind, events: events))
            count.refolded += 1
        }
        try connection.execute("DELETE FROM refold_streams")
        try Self.saveCheckpoint(connection, position: end)
        return count
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
                // Fold the events known by then into an in-memory schema and query that.
                try connection.execute("ATTACH DATABASE ':memory:' AS replay")
                defer {
                    connection.resetBusyStatements()
                    try? connection.execute("DETACH DATABASE replay")
                }
                for table in ReadModelSchema.tables { try connection.execute(table.createSQL(schema: "replay")) }
                for view in ReadModelSchema.viewsSQL(schema: "replay") { try connection.execute(view) }
                let (filter, bindings) = try Self.replayFilter(view, connection)
                do {
                    let writer = try ReadModelWriter(connection, schema: "replay", suffix: "")
                    try Self.foldAll(connection, where: filter, bindings, into: writer, transform: transform)
                }
                return try body(connection, "replay")
            }
        }
    }

    /// The events a view folds, as a condition on `events` (`seenBy` bounds each origin's seq
    /// through a table in the replay schema).
    private static func replayFilter(_ view: ReadModelView, _ connection: SQLiteConnection) throws -> (String, [SQLiteValue]) {
        switch view {
        case .live: return ("1", [])
        case .asOf(let time): return ("stored_at <= ?", [.integer(time)])
        case .validAt(let time): return ("occurred_at <= ?", [.integer(time)])
        case .seenBy(let vector, _):
            try connection.execute("CREATE TABLE replay.seen_heads (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID")
            let insert = try connection.prepare("INSERT INTO replay.seen_heads (origin, seq) VALUES (?, ?)")
            for (origin, seq) in vector.sorted {
                insert.reset()
                try insert.run([.text(origin.hex), .integer(Int64(clamping: seq))])
            }
            return ("seq <= coalesce((SELECT seen.seq FROM replay.seen_heads seen WHERE seen.origin = events.origin), 0)", [])
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
        // A statement left part-way through its rows would make DROP TABLE fail as "locked".
        connection.resetBusyStatements()
        let end = try connection.scalarInt("SELECT max(position) FROM events") ?? 0
        for table in ReadModelSchema.tables {
            try connection.execute("DROP TABLE IF EXISTS main.\(table.name)__rebuild")
            try connection.execute(table.createSQL(schema: "main", suffix: "__rebuild"))
        }
        // The kept fold states are rebuilt with the tables (in the same transaction).
        try connection.execute("DELETE FROM main.fold_states")
        let writer = try ReadModelWriter(connection, schema: "main", suffix: "__rebuild", keepsFolds: true)
        var total = 0
        if progress != nil {
            for kind in StreamKind.allCases {
                total += Int(try connection.scalarInt("SELECT count(DISTINCT stream) FROM events WHERE stream > ? AND stream < ?", streamRange(kind)) ?? 0)
            }
        }
        let streams = try foldAll(connection, where: "1", [], into: writer, folded: { folded in progress?(folded, total) })
        for view in ReadModelSchema.viewNames { try connection.execute("DROP VIEW IF EXISTS main.\(view)") }
        for table in ReadModelSchema.tables {
            try connection.execute("DROP TABLE IF EXISTS main.\(table.name)")
            try connection.execute("ALTER TABLE main.\(table.name)__rebuild RENAME TO \(table.name)")
            try connection.execute("CREATE INDEX main.\(table.name)_by_stream ON \(table.name) (stream)")
        }
        for view in ReadModelSchema.viewsSQL() { try connection.execute(view) }
        try saveCheckpoint(connection, position: end, rebuilt: true)
        return streams
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
        transform: ((Event) -> Event)? = nil, folded: ((Int) -> Void)? = nil
    ) throws -> Int {
        var current: String?
        var batch: [Event] = []
        var streams = 0
        func flush() throws {
            guard let stream = current else { return }
            try writer.insert(stream: StreamID(unchecked: stream), events: batch)
            streams += 1
            if streams % 500 == 0 { folded?(streams) }
            batch.removeAll(keepingCapacity: true)
        }
        // One range scan of the stream index a kind (an OR of the ranges would be answered by a
        // scan of every event, then a sort).
        for kind in StreamKind.allCases {
            let statement = try connection.prepare(
                "SELECT \(foldColumns) FROM events WHERE stream > ? AND stream < ? AND (\(filter)) ORDER BY stream"
            )
            try statement.bind(streamRange(kind) + bindings)
            while try statement.step() {
                let event = decodeEvent(statement).event
                if event.stream.rawValue != current {
                    try flush()
                    current = event.stream.rawValue
                }
                batch.append(transform?(event) ?? event)
            }
        }
        try flush()
        return streams
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

    /// The stream's kept fold state, as the read models stand at `position`; nil when none is
    /// kept, or it does not decode as this stream's, or it is not the fold of the stream's events
    /// up to `position` as far as the log shows: it must have folded exactly the events stored
    /// by then (the stream's versions 1…count, the count-th at or before `position` and the next
    /// after it) and its tail must be a held event of the stream with the hash it names. The
    /// stream is then folded again whole, and its state written anew (a stale or swapped state
    /// never writes a row).
    func keptFold(of stream: StreamID, at position: Int64) throws -> StreamFold? {
        guard let read = folds?.read else { return nil }
        read.reset()
        try read.bind([.text(stream.rawValue)])
        guard try read.step(), let fold = try? StreamFold(decoding: read.blob(0), stream: stream) else { return nil }
        read.reset()
        guard let tail = fold.tail, let tailHash = fold.tailHash, fold.eventCount > 0 else { return nil }
        let tailEvent = try connection.cached("SELECT hash FROM main.events WHERE origin = ? AND seq = ? AND stream = ?")
        try tailEvent.bind([.text(tail.id.origin.hex), .integer(Int64(bitPattern: tail.id.seq)), .text(stream.rawValue)])
        guard try tailEvent.step(), tailEvent.blob(0) == tailHash.bytes else { return nil }
        tailEvent.reset()
        let version = try connection.cached("SELECT position FROM main.events WHERE stream = ? AND stream_version = ?")
        func positionOf(_ streamVersion: Int) throws -> Int64? {
            version.reset()
            try version.bind([.text(stream.rawValue), .integer(Int64(streamVersion))])
            defer { version.reset() }
            return try version.step() ? version.int64(0) : nil
        }
        guard let last = try positionOf(fold.eventCount), last <= position else { return nil }
        if let next = try positionOf(fold.eventCount + 1), next <= position { return nil }
        return fold
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
    func apply(_ change: ReadModelFold.Change) throws {
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
        if let kept = change.kept {
            try keep(kept)
        } else if let drop = folds?.drop {
            drop.reset()
            try drop.run([.text(change.stream.rawValue)])
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
