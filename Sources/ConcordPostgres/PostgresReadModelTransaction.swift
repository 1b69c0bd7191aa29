import ConcordCore
import ConcordDomain
import ConcordProjections
import Logging
import NIOCore
import PostgresNIO

/// The PostgreSQL driver's rows for `Projector`, on one pooled connection inside its `BEGIN` …
/// `COMMIT`, run on a transaction thread (`PostgresEventStore.runBlocking`) that waits for each
/// call's queries. Each call is one query (or one a table), whatever the number of streams: the
/// engine passes a chunk of streams at a time. A rebuild empties the tables in place (or
/// recreates them when their schema changed); readers keep the old rows until the commit.
struct PostgresReadModelTransaction: ReadModelTransaction, PostgresTransactionDriver {
    let store: PostgresEventStore
    let connection: PostgresConnection

    // MARK: Catch-up

    func projectionState() throws -> (version: Int, position: Int64)? {
        try wait { connection, logger in
            try await connection.query(
                "SELECT version, position FROM projection_state WHERE name = \(PostgresEventStore.projectionName) FOR UPDATE", logger: logger
            ).decode((Int64, Int64).self).first { _ in true }.map { (Int($0.0), $0.1) }
        }
    }

    func logEnd() throws -> Int64 {
        try wait { connection, logger in
            try await connection.query("SELECT last FROM log_position WHERE id = 1", logger: logger).decode(Int64.self).first { _ in true } ?? 0
        }
    }

    func markedStreams() throws -> [String] {
        try wait { connection, logger in
            var marked: [String] = []
            for try await stream in try await connection.query("SELECT stream FROM refold_streams", logger: logger).decode(String.self) {
                marked.append(stream)
            }
            return marked
        }
    }

    func streamsStored(after position: Int64, through end: Int64) throws -> [String] {
        try wait { connection, logger in
            var streams: [String] = []
            for try await stream in try await connection.query(
                "SELECT stream FROM events WHERE position > \(position) AND position <= \(end) ORDER BY position", logger: logger
            ).decode(String.self) where streams.last != stream {
                streams.append(stream)
            }
            return streams
        }
    }

    func foldStates(of streams: [StreamID]) throws -> [StreamID: [UInt8]] {
        let names = streams.map(\.rawValue)
        return try wait { connection, logger in
            var states: [StreamID: [UInt8]] = [:]
            for try await (stream, state) in try await connection.query(
                "SELECT stream, state FROM fold_states WHERE stream = ANY(\(names))", logger: logger
            ).decode((String, ByteBuffer).self) {
                states[StreamID(unchecked: stream)] = Array(state.readableBytesView)
            }
            return states
        }
    }

    func streamsAndHashes(of ids: [EventID]) throws -> [EventID: (stream: StreamID, hash: EventHash)] {
        let origins = ids.map(\.origin.hex), seqs = ids.map { Int64(bitPattern: $0.seq) }
        return try wait { connection, logger in
            var found: [EventID: (stream: StreamID, hash: EventHash)] = [:]
            for try await (origin, seq, stream, hash) in try await connection.query("""
                SELECT e.origin, e.seq, e.stream, e.hash FROM unnest(\(origins)::text[], \(seqs)::bigint[]) AS wanted (origin, seq)
                JOIN events e ON e.origin = wanted.origin AND e.seq = wanted.seq
                """, logger: logger
            ).decode((String, Int64, String, ByteBuffer).self) {
                let id = EventID(origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq))
                found[id] = (StreamID(unchecked: stream), EventHash(bytes: Array(hash.readableBytesView)))
            }
            return found
        }
    }

    func hashes(of ids: [EventID]) throws -> [EventID: EventHash] {
        try streamsAndHashes(of: ids).mapValues(\.hash)
    }

    func positions(of versions: [StreamVersion]) throws -> [StreamVersion: Int64] {
        let streams = versions.map(\.stream.rawValue), numbers = versions.map { Int64($0.version) }
        return try wait { connection, logger in
            var found: [StreamVersion: Int64] = [:]
            for try await (stream, version, position) in try await connection.query("""
                SELECT e.stream, e.stream_version, e.position FROM unnest(\(streams)::text[], \(numbers)::bigint[]) AS wanted (stream, version)
                JOIN events e ON e.stream = wanted.stream AND e.stream_version = wanted.version
                """, logger: logger
            ).decode((String, Int64, Int64).self) {
                found[StreamVersion(StreamID(unchecked: stream), Int(version))] = position
            }
            return found
        }
    }

    func events(of streams: [StreamID], after position: Int64?, through end: Int64) throws -> [StreamID: [Event]] {
        let names = streams.map(\.rawValue), after = position ?? 0
        return try wait { connection, logger in
            var events: [StreamID: [Event]] = [:]
            for stored in try await PostgresEventStore.events(try await connection.query(
                "SELECT \(unescaped: PostgresEventStore.eventColumns) FROM events WHERE stream = ANY(\(names)) AND position > \(after) AND position <= \(end)",
                logger: logger
            )) {
                events[stored.event.stream, default: []].append(stored.event)
            }
            return events
        }
    }

    /// Every stream's changes carried out together, phase by phase: one DELETE a table for the
    /// cleared rows, one a table for rows deleted by key, multi-row INSERTs, then the fold states.
    func write(_ writes: [ReadModelWrite]) throws {
        var cleared: [String: [String]] = [:]
        var deleted: [String: [[SQLValue]]] = [:]
        var rows: [String: [[SQLValue]]] = [:]
        var kept: [(String, [UInt8])] = []
        var dropped: [String] = []
        for write in writes {
            let change = write.change
            for table in change.cleared { cleared[table, default: []].append(change.stream.rawValue) }
            for (table, tableRows) in change.deleted { deleted[table, default: []] += tableRows }
            for (table, tableRows) in change.rows { rows[table, default: []] += tableRows }
            switch write.foldState {
            case .keep(let state): kept.append((change.stream.rawValue, state))
            case .drop: dropped.append(change.stream.rawValue)
            case .leave: break
            }
        }
        try wait { [cleared, deleted, rows, kept, dropped] connection, logger in
            for (table, names) in cleared.sorted(by: { $0.key < $1.key }) {
                var bindings = PostgresBindings()
                bindings.append(names)
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE stream = ANY($1)", binds: bindings), logger: logger)
            }
            for (name, keys) in deleted.sorted(by: { $0.key < $1.key }) {
                guard let table = ReadModelSchema.table(named: name) else { continue }
                let key = table.primaryKeyIndexes
                let columns = "(" + table.primaryKey.joined(separator: ", ") + ")"
                try await PostgresEventStore.inChunks(keys.map { row in key.map { row[$0] } }, width: key.count) { values, bindings in
                    try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(name) WHERE \(columns) IN (\(values))", binds: bindings), logger: logger)
                }
            }
            try await PostgresEventStore.insertRows(rows, connection, logger: logger)
            if !dropped.isEmpty {
                try await connection.query("DELETE FROM fold_states WHERE stream = ANY(\(dropped))", logger: logger)
            }
            for start in stride(from: 0, to: kept.count, by: PostgresEventStore.rowsPerInsert) {
                var bindings = PostgresBindings()
                var values: [String] = []
                for (stream, state) in kept[start..<min(start + PostgresEventStore.rowsPerInsert, kept.count)] {
                    values.append("($\(bindings.count + 1), $\(bindings.count + 2))")
                    bindings.append(stream)
                    bindings.append(ByteBuffer(bytes: state))
                }
                try await connection.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO fold_states (stream, state) VALUES \(values.joined(separator: ", ")) ON CONFLICT (stream) DO UPDATE SET state = EXCLUDED.state",
                    binds: bindings
                ), logger: logger)
            }
        }
    }

    func clearMarkedStreams(_ streams: [String]) throws {
        try wait { connection, logger in
            try await connection.query("DELETE FROM refold_streams WHERE stream = ANY(\(streams))", logger: logger)
        }
    }

    func saveProjectionPosition(_ position: Int64) throws {
        try wait { connection, logger in
            try await connection.query("UPDATE projection_state SET position = \(position) WHERE name = \(PostgresEventStore.projectionName)", logger: logger)
        }
    }

    // MARK: Rebuild

    func domainStreamCount() throws -> Int {
        let kinds = StreamKind.allCases.map(\.rawValue)
        return try wait { connection, logger in
            Int(try await connection.query(
                "SELECT count(DISTINCT stream) FROM events WHERE split_part(stream, ':', 1) = ANY(\(kinds))", logger: logger
            ).decode(Int64.self).first { _ in true } ?? 0)
        }
    }

    /// A new read-model version recreates the tables (their columns may have changed),
    /// granting the application roles recorded by `grantApplicationRole` their privileges
    /// again; otherwise the rows are deleted, so readers keep the old ones until the commit and
    /// grants stay.
    func beginRebuild(schemaChanged: Bool) throws {
        let store = self.store
        try wait { connection, logger in
            if schemaChanged {
                for sql in PostgresEventStore.readModelTablesSQL { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                for role in try await store.applicationRoles(connection) {
                    for sql in PostgresEventStore.readModelGrantsSQL(role: role) { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                }
            } else {
                for table in ReadModelSchema.tables { try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table.name)"), logger: logger) }
            }
            try await connection.query("DELETE FROM fold_states", logger: logger)
        }
    }

    /// One pass over the log stream by stream, a page at a time along the unique index on
    /// (stream, stream_version): a connection runs one query at a time, so a page's streams are
    /// handed on (and written) only once the page has been read to its end; a stream cut by the
    /// page's end goes on into the next page.
    func forEachDomainStream(through end: Int64, _ body: (StreamID, [Event]) throws -> Void) throws {
        var current: StreamID?
        var batch: [Event] = []
        var after: (stream: String, version: Int64)?
        while true {
            let page = try wait { [after] connection, logger in
                try await PostgresEventStore.events(try await connection.query(after.map { after in """
                    SELECT \(unescaped: PostgresEventStore.eventColumns) FROM events WHERE (stream, stream_version) > (\(after.stream), \(after.version)) AND position <= \(end)
                    ORDER BY stream, stream_version LIMIT \(Int64(PostgresEventStore.rebuildPage))
                    """ } ?? """
                    SELECT \(unescaped: PostgresEventStore.eventColumns) FROM events WHERE position <= \(end)
                    ORDER BY stream, stream_version LIMIT \(Int64(PostgresEventStore.rebuildPage))
                    """, logger: logger))
            }
            for stored in page {
                if stored.event.stream != current {
                    if let stream = current, StreamKind.parse(stream) != nil { try body(stream, batch) }
                    batch.removeAll(keepingCapacity: true)
                    current = stored.event.stream
                }
                batch.append(stored.event)
            }
            guard page.count == PostgresEventStore.rebuildPage, let last = page.last else { break }
            after = (last.event.stream.rawValue, Int64(last.streamVersion))
        }
        if let stream = current, StreamKind.parse(stream) != nil { try body(stream, batch) }
    }

    func finishRebuild(version: Int, position: Int64, at now: Int64) throws {
        try wait { connection, logger in
            try await connection.query("""
                INSERT INTO projection_state (name, version, position, rebuilt_at) VALUES (\(PostgresEventStore.projectionName), \(Int64(version)), \(position), \(now))
                ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position, rebuilt_at = EXCLUDED.rebuilt_at
                """, logger: logger)
        }
    }
}

extension PostgresReadModelTransaction: ReadModelCheckTransaction {
    func storedProjectionState() throws -> (version: Int, position: Int64)? {
        try wait { connection, logger in
            try await connection.query(
                "SELECT version, position FROM projection_state WHERE name = \(PostgresEventStore.projectionName)", logger: logger
            ).decode((Int64, Int64).self).first { _ in true }.map { (Int($0.0), $0.1) }
        }
    }

    func eventCount(after position: Int64) throws -> Int64 {
        try wait { connection, logger in
            try await connection.query("SELECT count(*) FROM events WHERE position > \(position)", logger: logger).decode(Int64.self).first { _ in true } ?? 0
        }
    }

    func storedReadModelRowCount() throws -> Int64 {
        try wait { connection, logger in
            var rows: Int64 = 0
            for table in ReadModelSchema.tables + [ReadModelSchema.foldStates] {
                let exists = try await connection.query("SELECT to_regclass(\("public." + table.name))::text", logger: logger)
                    .decode(String?.self).first { _ in true } ?? nil
                guard exists != nil else { continue }
                rows += try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name)"), logger: logger)
                    .decode(Int64.self).first { _ in true } ?? 0
            }
            return rows
        }
    }

    func storedRows(of table: ReadModelSchema.Table) throws -> [[SQLValue]] {
        try wait { connection, logger in try await PostgresEventStore.rows(of: table, in: nil, connection, logger: logger) }
    }

    func storedFoldStates() throws -> [(stream: String, state: [UInt8])] {
        try wait { connection, logger in
            var states: [(stream: String, state: [UInt8])] = []
            for try await (stream, state) in try await connection.query("SELECT stream, state FROM fold_states", logger: logger).decode((String, ByteBuffer).self) {
                states.append((stream, Array(state.readableBytesView)))
            }
            return states
        }
    }
}

/// The PostgreSQL driver's scratch tables for `Projector.replay`: temporary tables and views
/// (`pg_temp`) created inside the caller's transaction, which rolls back and takes them with it
/// (a past view needs the primary: a hot standby creates no temporary table).
struct PostgresReplayTransaction: ReadModelReplayTransaction, PostgresTransactionDriver {
    let store: PostgresEventStore
    let connection: PostgresConnection

    func createScratchTables() throws -> String {
        try wait { connection, logger in
            for table in ReadModelSchema.tables {
                try await connection.query(PostgresQuery(
                    unsafeSQL: "CREATE TEMPORARY TABLE \(table.name) (\(PostgresEventStore.columnsSQL(table)), PRIMARY KEY (\(table.primaryKey.joined(separator: ", ")))) ON COMMIT DROP"
                ), logger: logger)
            }
            // Created after the temporary tables, the views name them (pg_temp comes first).
            for view in ReadModelSchema.viewsSQL(schema: "pg_temp", today: PostgresEventStore.todaySQL) {
                try await connection.query(PostgresQuery(unsafeSQL: view), logger: logger)
            }
        }
        return "pg_temp"
    }

    /// The log a page at a time along `(stream, stream_version)`, as a rebuild reads it.
    func forEachDomainStream(storedAtMost: Int64?, occurredAtMost: Int64?, _ body: (StreamID, [Event], [Int64]) throws -> Void) throws {
        let (stored, occurred) = (storedAtMost ?? .max, occurredAtMost ?? .max)
        var current: StreamID?
        var batch: [Event] = []
        var storedAt: [Int64] = []
        func flush() throws {
            if let stream = current, StreamKind.parse(stream) != nil { try body(stream, batch, storedAt) }
            batch.removeAll(keepingCapacity: true)
            storedAt.removeAll(keepingCapacity: true)
        }
        var after: (stream: String, version: Int64) = ("", 0)
        while true {
            let page = try wait { [after] connection, logger in
                var page: [(StoredEvent, Int64)] = []
                for try await row in try await connection.query("""
                    SELECT \(unescaped: PostgresEventStore.eventColumns), stored_at FROM events
                    WHERE (stream, stream_version) > (\(after.stream), \(after.version)) AND stored_at <= \(stored) AND occurred_at <= \(occurred)
                    ORDER BY stream, stream_version LIMIT \(Int64(PostgresEventStore.rebuildPage))
                    """, logger: logger) {
                    page.append((try PostgresEventStore.decodeEvent(row), try row.makeRandomAccess()[20].decode(Int64.self)))
                }
                return page
            }
            for (stored, at) in page {
                if stored.event.stream != current {
                    try flush()
                    current = stored.event.stream
                }
                batch.append(stored.event)
                storedAt.append(at)
            }
            guard page.count == PostgresEventStore.rebuildPage, let last = page.last else { break }
            after = (last.0.event.stream.rawValue, Int64(last.0.streamVersion))
        }
        try flush()
    }

    func insertScratchRows(_ rows: [String: [[SQLValue]]]) throws {
        try wait { connection, logger in try await PostgresEventStore.insertRows(rows, connection, schema: "pg_temp", logger: logger) }
    }
}

/// A driver working on one connection inside its transaction, on a transaction thread.
protocol PostgresTransactionDriver {
    var store: PostgresEventStore { get }
    var connection: PostgresConnection { get }
}

extension PostgresTransactionDriver {
    var logger: Logger { store.logger }

    /// Waits for the queries `body` runs on the driver's connection.
    @discardableResult
    func wait<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) throws -> T {
        let (connection, logger) = (self.connection, self.logger)
        return try PostgresEventStore.wait { try await body(connection, logger) }
    }
}
