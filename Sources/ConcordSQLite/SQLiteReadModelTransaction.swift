import ConcordCore
import ConcordDomain
import ConcordProjections

/// The SQLite driver's rows for `Projector`, on the writer connection inside the caller's
/// transaction. A rebuild writes into `__rebuild` side tables and swaps them in at its end.
final class SQLiteReadModelTransaction: ReadModelTransaction {
    let connection: SQLiteConnection
    /// Prepared at the first write (most catch-ups find nothing to do).
    private var writer: ReadModelWriter?

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    // MARK: Catch-up

    func projectionState() throws -> (version: Int, position: Int64)? {
        let (version, position) = try SQLiteEventStore.projectionCheckpoint(connection)
        return version.map { ($0, position) }
    }

    func logEnd() throws -> Int64 {
        try connection.scalarInt("SELECT max(position) FROM events") ?? 0
    }

    func markedStreams() throws -> [String] {
        var marked: [String] = []
        let rows = try connection.cached("SELECT stream FROM refold_streams")
        while try rows.step() { marked.append(rows.text(0)) }
        return marked
    }

    func streamsStored(after position: Int64, through end: Int64) throws -> [String] {
        // Not SELECT DISTINCT: SQLite would answer that by scanning the whole stream index (an
        // initial sync of a million events names a few thousand streams).
        var streams: [String] = []
        let rows = try connection.cached("SELECT stream FROM events WHERE position > ? AND position <= ? ORDER BY position")
        try rows.bind([.integer(position), .integer(end)])
        var last: String?
        while try rows.step() {
            let name = rows.text(0)
            if name != last { streams.append(name) }
            last = name
        }
        return streams
    }

    func foldStates(of streams: [StreamID]) throws -> [StreamID: [UInt8]] {
        let read = try connection.cached("SELECT state FROM main.fold_states WHERE stream = ?")
        var states: [StreamID: [UInt8]] = [:]
        for stream in streams {
            read.reset()
            try read.bind([.text(stream.rawValue)])
            if try read.step() { states[stream] = read.blob(0) }
        }
        read.reset()
        return states
    }

    func streamsAndHashes(of ids: [EventID]) throws -> [EventID: (stream: StreamID, hash: EventHash)] {
        let read = try connection.cached("SELECT stream, hash FROM main.events WHERE origin = ? AND seq = ?")
        var found: [EventID: (stream: StreamID, hash: EventHash)] = [:]
        for id in ids {
            read.reset()
            try read.bind([.text(id.origin.hex), .integer(Int64(bitPattern: id.seq))])
            if try read.step() { found[id] = (StreamID(unchecked: read.text(0)), EventHash(bytes: read.blob(1))) }
        }
        read.reset()
        return found
    }

    func hashes(of ids: [EventID]) throws -> [EventID: EventHash] {
        let read = try connection.cached("SELECT hash FROM main.events WHERE origin = ? AND seq = ?")
        var found: [EventID: EventHash] = [:]
        for id in ids {
            read.reset()
            try read.bind([.text(id.origin.hex), .integer(Int64(bitPattern: id.seq))])
            if try read.step() { found[id] = EventHash(bytes: read.blob(0)) }
        }
        read.reset()
        return found
    }

    func positions(of versions: [StreamVersion]) throws -> [StreamVersion: Int64] {
        let read = try connection.cached("SELECT position FROM main.events WHERE stream = ? AND stream_version = ?")
        var found: [StreamVersion: Int64] = [:]
        for version in versions {
            read.reset()
            try read.bind([.text(version.stream.rawValue), .integer(Int64(version.version))])
            if try read.step() { found[version] = read.int64(0) }
        }
        read.reset()
        return found
    }

    func events(of streams: [StreamID], after position: Int64?, through end: Int64) throws -> [StreamID: [Event]] {
        let read = try connection.cached(
            "SELECT \(SQLiteEventStore.foldColumns) FROM events WHERE stream = ? AND position > ? AND position <= ?"
        )
        var events: [StreamID: [Event]] = [:]
        for stream in streams {
            read.reset()
            try read.bind([.text(stream.rawValue), .integer(position ?? 0), .integer(end)])
            var batch: [Event] = []
            while try read.step() { batch.append(SQLiteEventStore.decodeEvent(read).event) }
            events[stream] = batch
        }
        read.reset()
        return events
    }

    func write(_ writes: [ReadModelWrite]) throws {
        let writer = try self.writer ?? ReadModelWriter(connection, schema: "main", suffix: "", keepsFolds: true)
        self.writer = writer
        for write in writes { try writer.apply(write) }
    }

    func clearMarkedStreams(_ streams: [String]) throws {
        let delete = try connection.cached("DELETE FROM refold_streams WHERE stream = ?")
        for stream in streams {
            delete.reset()
            try delete.run([.text(stream)])
        }
    }

    func saveProjectionPosition(_ position: Int64) throws {
        try SQLiteEventStore.saveCheckpoint(connection, position: position)
    }

    // MARK: Rebuild

    func domainStreamCount() throws -> Int {
        var total = 0
        for kind in StreamKind.allCases {
            total += Int(try connection.scalarInt("SELECT count(DISTINCT stream) FROM events WHERE stream > ? AND stream < ?", SQLiteEventStore.streamRange(kind)) ?? 0)
        }
        return total
    }

    func beginRebuild(schemaChanged: Bool) throws {
        // A statement left part-way through its rows would make DROP TABLE fail as "locked".
        connection.resetBusyStatements()
        for table in ReadModelSchema.tables {
            try connection.execute("DROP TABLE IF EXISTS main.\(table.name)__rebuild")
            try connection.execute(table.createSQL(schema: "main", suffix: "__rebuild"))
        }
        // The kept fold states are rebuilt with the tables (in the same transaction).
        try connection.execute("DELETE FROM main.fold_states")
        writer = try ReadModelWriter(connection, schema: "main", suffix: "__rebuild", keepsFolds: true)
    }

    func forEachDomainStream(through end: Int64, _ body: (StreamID, [Event]) throws -> Void) throws {
        // A rebuild reads up to the log's end (its writer holds the lock): no bound to test on
        // every row. A check reads up to where the read models stand, which may be short of it.
        let (condition, bindings): (String, [SQLiteValue]) = end >= (try logEnd()) ? ("1", []) : ("position <= ?", [.integer(end)])
        try SQLiteEventStore.forEachStream(connection, where: condition, bindings) { stream, events, _ in try body(stream, events) }
    }

    func finishRebuild(version: Int, position: Int64, at now: Int64) throws {
        connection.resetBusyStatements()
        for view in ReadModelSchema.viewNames { try connection.execute("DROP VIEW IF EXISTS main.\(view)") }
        for table in ReadModelSchema.tables {
            try connection.execute("DROP TABLE IF EXISTS main.\(table.name)")
            try connection.execute("ALTER TABLE main.\(table.name)__rebuild RENAME TO \(table.name)")
            try connection.execute("CREATE INDEX main.\(table.name)_by_stream ON \(table.name) (stream)")
        }
        for view in ReadModelSchema.viewsSQL() { try connection.execute(view) }
        try connection.cached("INSERT OR REPLACE INTO projection_state (name, version, position, rebuilt_at) VALUES (?, ?, ?, ?)")
            .run([.text(SQLiteEventStore.projectionName), .integer(Int64(version)), .integer(position), .integer(now)])
        writer = nil
    }
}

/// The SQLite driver's scratch tables for `Projector.replay`: a schema in memory attached to the
/// connection as `replay` (the caller detaches it).
struct SQLiteReplayTransaction: ReadModelReplayTransaction {
    let connection: SQLiteConnection

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    func createScratchTables() throws -> String {
        try connection.execute("ATTACH DATABASE ':memory:' AS replay")
        for table in ReadModelSchema.tables { try connection.execute(table.createSQL(schema: "replay")) }
        for view in ReadModelSchema.viewsSQL(schema: "replay") { try connection.execute(view) }
        return "replay"
    }

    func forEachDomainStream(storedAtMost: Int64?, occurredAtMost: Int64?, _ body: (StreamID, [Event], [Int64]) throws -> Void) throws {
        try SQLiteEventStore.forEachStream(
            connection, where: "stored_at <= ? AND occurred_at <= ?", [.integer(storedAtMost ?? .max), .integer(occurredAtMost ?? .max)],
            withStoredAt: true, body
        )
    }

    func insertScratchRows(_ rows: [String: [[SQLValue]]]) throws {
        for (name, tableRows) in rows {
            guard let table = ReadModelSchema.table(named: name) else { continue }
            let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
            // Not cached: no statement may name the schema once it is detached.
            let insert = try connection.prepare("INSERT INTO replay.\(name) VALUES (\(placeholders))")
            for row in tableRows {
                insert.reset()
                try insert.run(row.map(\.sqliteValue))
            }
        }
    }
}
