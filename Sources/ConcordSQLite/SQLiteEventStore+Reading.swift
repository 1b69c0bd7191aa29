import ConcordCore

extension SQLiteEventStore {
    static let eventColumns = """
        position, origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,
        actor, causation_id, correlation_id, prev, data, prev_hash, hash, commitment, salt, disclosure
        """

    /// Decodes a row leniently: values are taken as stored, so that verification can judge a
    /// tampered row rather than fail to read it.
    static func decodeEvent(_ row: SQLiteStatement) -> StoredEvent {
        let prev = decodePrev(row.text(13))
        let event = Event(
            id: EventID(origin: OriginID(unchecked: row.text(1)), seq: UInt64(bitPattern: row.int64(2))),
            stream: StreamID(unchecked: row.text(3)),
            type: EventType(unchecked: row.text(5)),
            schemaVersion: UInt32(truncatingIfNeeded: row.int64(6)),
            hlc: HLCTimestamp(packed: row.int64(7)),
            recordedAt: row.int64(8),
            occurredAt: row.int64(9),
            actor: row.text(10),
            causationID: row.optionalText(11),
            correlationID: row.optionalText(12),
            prev: prev,
            payload: row.text(14),
            prevHash: EventHash(bytes: row.blob(15)),
            hash: EventHash(bytes: row.blob(16)),
            commitment: row.isNull(17) ? nil : EventHash(bytes: row.blob(17)),
            salt: row.isNull(18) ? [] : row.blob(18),
            disclosure: Disclosure(rawValue: Int(row.int64(19))) ?? .withheld
        )
        return StoredEvent(event: event, position: row.int64(0), streamVersion: Int(row.int64(4)))
    }

    static func decodePrev(_ text: String) -> [EventID] { StoredPrevList.decode(text) }

    private func query(_ what: String, _ sql: String, _ bindings: [SQLiteValue]) throws -> [StoredEvent] {
        try withConnection(what) { state in
            let statement = try state.connection.cached(sql)
            try statement.bind(bindings)
            var events: [StoredEvent] = []
            while try statement.step() { events.append(Self.decodeEvent(statement)) }
            return events
        }
    }

    public func streamVersion(of stream: StreamID) throws -> Int {
        try withConnection("read stream \(stream)") { state in try Self.streamVersion(state.connection, stream) }
    }

    public func readStream(_ stream: StreamID, afterVersion: Int, limit: Int) throws -> [StoredEvent] {
        try query(
            "read stream \(stream)",
            "SELECT \(Self.eventColumns) FROM events WHERE stream = ? AND stream_version > ? ORDER BY stream_version LIMIT ?",
            [.text(stream.rawValue), .integer(Int64(afterVersion)), .integer(Int64(limit))]
        )
    }

    public func readOrigin(_ origin: OriginID, afterSeq: UInt64, limit: Int) throws -> [StoredEvent] {
        try query(
            "read origin \(origin.short)",
            "SELECT \(Self.eventColumns) FROM events WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
            [.text(origin.hex), .integer(Int64(clamping: afterSeq)), .integer(Int64(limit))]
        )
    }

    /// The log in position order, narrowed to one stream, type or origin (an origin's first hex
    /// digits are enough). `newestFirst` reads backwards from the end (for the last N).
    public func readLog(
        afterPosition: Int64, limit: Int, stream: String?, type: String?, origin: String?, newestFirst: Bool = false
    ) throws -> [StoredEvent] {
        var conditions = ["position > ?"]
        var bindings: [SQLiteValue] = [.integer(afterPosition)]
        if let stream { conditions.append("stream = ?"); bindings.append(.text(stream)) }
        if let type { conditions.append("type = ?"); bindings.append(.text(type)) }
        if let origin { conditions.append("origin >= ? AND origin < ?"); bindings += [.text(origin), .text(origin + "g")] }
        bindings.append(.integer(Int64(limit)))
        let events = try query(
            "read the log",
            "SELECT \(Self.eventColumns) FROM events WHERE \(conditions.joined(separator: " AND ")) ORDER BY position \(newestFirst ? "DESC" : "") LIMIT ?",
            bindings
        )
        return newestFirst ? events.reversed() : events
    }

    public func readLog(afterPosition: Int64, limit: Int) throws -> [StoredEvent] {
        try query(
            "read the log",
            "SELECT \(Self.eventColumns) FROM events WHERE position > ? ORDER BY position LIMIT ?",
            [.integer(afterPosition), .integer(Int64(limit))]
        )
    }

    /// The last `limit` events in position order (oldest first), for `concord log --limit`.
    public func readLogTail(limit: Int) throws -> [StoredEvent] {
        let newestFirst = try query(
            "read the log",
            "SELECT \(Self.eventColumns) FROM events ORDER BY position DESC LIMIT ?",
            [.integer(Int64(limit))]
        )
        return newestFirst.reversed()
    }

    /// One `max(seq)` lookup per known origin on the `(origin, seq)` index: cheap whatever the log's size.
    public func versionVector() throws -> VersionVector {
        try withConnection("read the version vector") { state in
            var vector = VersionVector()
            for origin in try Self.distinctOrigins(state.connection) {
                // Clamped: a negative seq (a tampered row) reads as nothing held, not a trap.
                if let seq = try state.connection.scalarInt("SELECT max(seq) FROM events WHERE origin = ?", [.text(origin.hex)]) {
                    vector[origin] = UInt64(clamping: seq)
                }
            }
            return vector
        }
    }

    public func eventOrigins() throws -> [OriginID] {
        try withConnection("list origins") { state in try Self.distinctOrigins(state.connection) }
    }

    /// Walks the `(origin, seq)` index one origin at a time (a skip scan), so the cost grows with
    /// the number of origins, not of events.
    static func distinctOrigins(_ connection: SQLiteConnection) throws -> [OriginID] {
        var origins: [OriginID] = []
        let next = try connection.cached("SELECT min(origin) FROM events WHERE origin > ?")
        var after = ""
        while true {
            next.reset()
            try next.bind(1, after)
            guard try next.step(), !next.isNull(0) else { break }
            after = next.text(0)
            origins.append(OriginID(unchecked: after))
        }
        return origins
    }

    public func originKeys() throws -> [OriginKey] {
        try withConnection("read origin keys") { state in
            let statement = try state.connection.cached("SELECT origin, public_key FROM origins ORDER BY origin")
            var keys: [OriginKey] = []
            while try statement.step() {
                keys.append(OriginKey(origin: OriginID(unchecked: statement.text(0)), publicKey: statement.blob(1)))
            }
            return keys
        }
    }

    public func seals(of origin: OriginID) throws -> [Seal] {
        try withConnection("read seals") { state in
            let statement = try state.connection.cached("SELECT seq, hash, signature FROM seals WHERE origin = ? ORDER BY seq")
            try statement.bind(1, origin.hex)
            var seals: [Seal] = []
            while try statement.step() {
                seals.append(Seal(
                    origin: origin, seq: UInt64(bitPattern: statement.int64(0)),
                    hash: EventHash(bytes: statement.blob(1)), signature: statement.blob(2)
                ))
            }
            return seals
        }
    }

    /// The number of stored events.
    public func eventCount() throws -> Int64 {
        try withConnection("count events") { state in try state.connection.scalarInt("SELECT count(*) FROM events") ?? 0 }
    }

    /// The number of distinct streams.
    public func streamCount() throws -> Int64 {
        try withConnection("count streams") { state in
            try state.connection.scalarInt("SELECT count(*) FROM (SELECT DISTINCT stream FROM events)") ?? 0
        }
    }

    /// `PRAGMA integrity_check`: "ok" when SQLite finds the file sound.
    public func integrityCheck() throws -> String {
        try withConnection("check integrity") { state in
            let statement = try state.connection.prepare("PRAGMA integrity_check")
            var lines: [String] = []
            while try statement.step() { lines.append(statement.text(0)) }
            return lines.joined(separator: "; ")
        }
    }
}

extension SQLiteEventStore {
    /// Writes a consistent copy of the whole store (including what is still in the WAL) to a new
    /// file. The copy is a new file: if anyone writes to it, it starts a new origin.
    public func backup(to destination: String) throws {
        guard !FileSystem.exists(destination) else {
            throw ConcordError(.storeExists, "a file already exists at \(destination)")
        }
        try withConnection("copy the store to \(destination)") { state in
            try state.connection.prepare("VACUUM INTO ?").run([.text(destination)])
        }
    }
}

extension SQLiteEventStore {
    /// When this node stored the event at `position` (local time, ms).
    public func storedAt(position: Int64) throws -> Int64 {
        try withConnection("read the log") { state in
            try state.connection.scalarInt("SELECT stored_at FROM events WHERE position = ?", [.integer(position)]) ?? .max
        }
    }
}
