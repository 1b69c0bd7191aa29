import ConcordCore
import ConcordSyncProtocol
import Foundation
import NIOCore
import PostgresNIO

extension PostgresEventStore {
    /// The event columns, in the order `decodeEvent` reads them.
    static let eventColumns = """
        position, origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,
        actor, causation_id, correlation_id, prev, data, prev_hash, hash, commitment, salt, disclosure
        """

    /// The event whose `eventColumns` start at column `offset` of the row.
    static func decodeEvent(_ row: PostgresRow, offset: Int = 0) throws -> StoredEvent {
        let all = row.makeRandomAccess()
        struct Shifted {
            let row: PostgresRandomAccessRow
            let offset: Int
            subscript(index: Int) -> PostgresCell { row[index + offset] }
        }
        let cells = Shifted(row: all, offset: offset)
        func int(_ index: Int) throws -> Int64 { try cells[index].decode(Int64.self) }
        func text(_ index: Int) throws -> String { try cells[index].decode(String.self) }
        func bytes(_ index: Int) throws -> [UInt8]? { try cells[index].decode(ByteBuffer?.self).map { Array($0.readableBytesView) } }
        let event = Event(
            id: EventID(origin: OriginID(unchecked: try text(1)), seq: UInt64(bitPattern: try int(2))),
            stream: StreamID(unchecked: try text(3)),
            type: EventType(unchecked: try text(5)),
            schemaVersion: UInt32(truncatingIfNeeded: try int(6)),
            hlc: HLCTimestamp(packed: try int(7)),
            recordedAt: try int(8),
            occurredAt: try int(9),
            actor: try text(10),
            causationID: try cells[11].decode(String?.self),
            correlationID: try cells[12].decode(String?.self),
            prev: StoredPrevList.decode(try text(13)),
            payload: try text(14),
            prevHash: EventHash(bytes: try bytes(15) ?? []),
            hash: EventHash(bytes: try bytes(16) ?? []),
            commitment: try bytes(17).map { EventHash(bytes: $0) },
            salt: try bytes(18) ?? [],
            disclosure: Disclosure(rawValue: Int(try cells[19].decode(Int16.self))) ?? .withheld
        )
        return StoredEvent(event: event, position: try int(0), streamVersion: Int(try int(4)))
    }

    static func events(_ rows: PostgresRowSequence) async throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        for try await row in rows { events.append(try decodeEvent(row)) }
        return events
    }

    /// `{origin: highest seq}`: one index lookup an origin (every origin with events has its key
    /// recorded, in the same transaction as its first events).
    public func versionVector() async throws -> VersionVector {
        try await read("read the version vector") { connection in try await Self.versionVector(connection, logger: self.logger) }
    }

    static func versionVector(_ connection: PostgresConnection, logger: Logger) async throws -> VersionVector {
        var entries: [OriginID: UInt64] = [:]
        let rows = try await connection.query(
            "SELECT o.origin, (SELECT max(seq) FROM events e WHERE e.origin = o.origin) FROM origins o", logger: logger
        )
        for try await (origin, seq) in rows.decode((String, Int64?).self) {
            if let seq { entries[OriginID(unchecked: origin)] = UInt64(bitPattern: seq) }
        }
        return VersionVector(entries)
    }

    /// An origin's key: read once, then kept (a recorded key never changes: the triggers refuse it).
    public func originKey(_ origin: OriginID) async throws -> OriginKey? {
        if let key = keys.withLock({ $0[origin] }) { return key }
        let key = try await read("read origin keys") { connection in try await Self.storedKey(connection, origin, logger: self.logger) }
        if let key { keys.withLock { $0[origin] = key } }
        return key
    }

    static func storedKey(_ connection: PostgresConnection, _ origin: OriginID, logger: Logger) async throws -> OriginKey? {
        let rows = try await connection.query("SELECT public_key FROM origins WHERE origin = \(origin.hex)", logger: logger)
        guard let key = try await rows.decode(ByteBuffer.self).first(where: { _ in true }) else { return nil }
        return OriginKey(origin: origin, publicKey: Array(key.readableBytesView))
    }

    public func originKeys() async throws -> [OriginKey] {
        try await read("read origin keys") { connection in
            var keys: [OriginKey] = []
            for try await (origin, key) in try await connection.query("SELECT origin, public_key FROM origins ORDER BY origin", logger: self.logger).decode((String, ByteBuffer).self) {
                keys.append(OriginKey(origin: OriginID(unchecked: origin), publicKey: Array(key.readableBytesView)))
            }
            return keys
        }
    }

    public func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash? {
        try await read("read the log") { connection in
            try await Self.storedHash(connection, EventID(origin: origin, seq: seq), logger: self.logger)
        }
    }

    static func storedHash(_ connection: PostgresConnection, _ id: EventID, logger: Logger) async throws -> EventHash? {
        let rows = try await connection.query("SELECT hash FROM events WHERE origin = \(id.origin.hex) AND seq = \(Int64(bitPattern: id.seq))", logger: logger)
        return try await rows.decode(ByteBuffer.self).first { _ in true }.map { EventHash(bytes: Array($0.readableBytesView)) }
    }

    /// The held hashes among `ids`, in one round trip.
    public func eventHashes(_ ids: [EventID]) async throws -> [EventID: EventHash] {
        guard !ids.isEmpty else { return [:] }
        return try await read("read the log") { connection in
            let rows = try await connection.query("""
                SELECT e.origin, e.seq, e.hash FROM unnest(\(ids.map(\.origin.hex)), \(ids.map { Int64(bitPattern: $0.seq) })) AS w(origin, seq)
                JOIN events e ON e.origin = w.origin AND e.seq = w.seq
                """, logger: self.logger)
            var hashes: [EventID: EventHash] = [:]
            for try await (origin, seq, hash) in rows.decode((String, Int64, ByteBuffer).self) {
                hashes[EventID(origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq))] = EventHash(bytes: Array(hash.readableBytesView))
            }
            return hashes
        }
    }

    /// Each round trip costs more than the memory of a few runs (at most 1000 events and 4 MiB
    /// of lines each): `MissingRuns` reads 16 origins' runs at once.
    public var readAheadOrigins: Int { 16 }

    /// The next run of each origin, in one query (a lateral join per origin).
    public func nextRuns(_ starts: [EventID]) async throws -> [OriginID: (seal: Seal, events: [Event])] {
        guard !starts.isEmpty else { return [:] }
        return try await read("read the log") { connection in
            let rows = try await connection.query("""
                SELECT w.origin, s.seq, s.hash, s.signature, \(unescaped: Self.prefixedEventColumns)
                FROM unnest(\(starts.map(\.origin.hex)), \(starts.map { Int64(clamping: $0.seq) })) AS w(origin, after)
                CROSS JOIN LATERAL (SELECT seq, hash, signature FROM seals WHERE origin = w.origin AND seq > w.after ORDER BY seq LIMIT 1) s
                LEFT JOIN events e ON e.origin = w.origin AND e.seq > w.after AND e.seq <= s.seq
                ORDER BY w.origin, e.seq
                """, logger: self.logger)
            var runs: [OriginID: (seal: Seal, events: [Event])] = [:]
            for try await row in rows {
                let cells = row.makeRandomAccess()
                let origin = OriginID(unchecked: try cells[0].decode(String.self))
                if runs[origin] == nil {
                    runs[origin] = (Seal(
                        origin: origin, seq: UInt64(bitPattern: try cells[1].decode(Int64.self)),
                        hash: EventHash(bytes: Array(try cells[2].decode(ByteBuffer.self).readableBytesView)),
                        signature: Array(try cells[3].decode(ByteBuffer.self).readableBytesView)
                    ), [])
                }
                guard try cells[4].decode(Int64?.self) != nil else { continue }
                runs[origin]!.events.append(try Self.decodeEvent(row, offset: 4).event)
            }
            return runs
        }
    }

    static let prefixedEventColumns = eventColumns.split(separator: ",").map { "e." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    public func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal? {
        try await seals(of: origin, after: seq, through: UInt64(Int64.max), limit: 1).first
    }

    /// An origin's seals with seqs `after + 1 … through`, in seq order.
    public func seals(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Seal] {
        try await seals(of: origin, after: after, through: through, limit: .max)
    }

    private func seals(of origin: OriginID, after: UInt64, through: UInt64, limit: Int) async throws -> [Seal] {
        try await read("read seals") { connection in
            let rows = try await connection.query("""
                SELECT seq, hash, signature FROM seals WHERE origin = \(origin.hex) AND seq > \(Int64(clamping: after)) AND seq <= \(Int64(clamping: through))
                ORDER BY seq LIMIT \(Int64(limit))
                """, logger: self.logger)
            var seals: [Seal] = []
            for try await (seq, hash, signature) in rows.decode((Int64, ByteBuffer, ByteBuffer).self) {
                seals.append(Seal(origin: origin, seq: UInt64(bitPattern: seq), hash: EventHash(bytes: Array(hash.readableBytesView)), signature: Array(signature.readableBytesView)))
            }
            return seals
        }
    }

    /// The origin's events with seqs `after + 1 … through`, in seq order.
    public func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event] {
        guard through > after else { return [] }
        return try await read("read the log") { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.eventColumns) FROM events
                WHERE origin = \(origin.hex) AND seq > \(Int64(clamping: after)) AND seq <= \(Int64(clamping: through)) ORDER BY seq
                """, logger: self.logger)
            return try await Self.events(rows).map(\.event)
        }
    }

    /// The whole log in position order, starting after `afterPosition`: the global order. It
    /// never skips an event that commits later (positions are handed out in commit order).
    public func readLog(afterPosition: Int64, limit: Int, matching filter: LogFilter, newestFirst: Bool) async throws -> [StoredEvent] {
        var conditions = ["position > $1"]
        var bindings = PostgresBindings()
        bindings.append(afterPosition)
        func condition(_ sql: (Int) -> String, _ value: String) {
            bindings.append(value)
            conditions.append(sql(bindings.count))
        }
        if let stream = filter.stream { condition({ "stream = $\($0)" }, stream) }
        if let type = filter.type { condition({ "type = $\($0)" }, type) }
        if let prefix = filter.originPrefix { condition({ "starts_with(origin, $\($0))" }, prefix) }
        bindings.append(Int64(clamping: limit))
        let sql = "SELECT \(Self.eventColumns) FROM events WHERE \(conditions.joined(separator: " AND ")) ORDER BY position \(newestFirst ? "DESC" : "") LIMIT $\(bindings.count)"
        let events = try await read("read the log") { connection in
            try await Self.events(try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: self.logger))
        }
        return newestFirst ? events.reversed() : events
    }

    /// The number of events held.
    public func eventCount() async throws -> Int {
        try await read("count the events") { connection in
            Int(try await connection.query("SELECT count(*) FROM events", logger: self.logger).decode(Int64.self).first { _ in true } ?? 0)
        }
    }

    public func streamCount() async throws -> Int {
        try await read("count the streams") { connection in
            Int(try await connection.query("SELECT count(DISTINCT stream) FROM events", logger: self.logger).decode(Int64.self).first { _ in true } ?? 0)
        }
    }

    /// A PostgreSQL hub records no events of its own yet.
    /// The hub's one origin, its key file's (every process serving the database records and
    /// signs as it); nil for a process given no key. It starts no new origin of itself.
    public func ownOriginStatus() async throws -> NodeStatus.OwnOrigin? {
        guard let origin = checkpointSigner else { return nil }
        let createdAt = try await read("read the node record") { connection in
            try await connection.query("SELECT created_at FROM node WHERE id = 1", logger: self.logger).decode(Int64.self).first { _ in true } ?? 0
        }
        return NodeStatus.OwnOrigin(
            origin: origin, createdAt: createdAt,
            incarnations: [NodeStatus.OwnOrigin.Incarnation(origin: origin, startedAt: createdAt, reason: "the hub's key file")],
            newOriginReason: nil
        )
    }

    /// Every origin with events here, in origin order.
    public func eventOrigins() async throws -> [OriginID] {
        try await versionVector().sorted.map(\.origin)
    }

    public func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64? {
        try await readOrigin(origin, afterSeq: seq, limit: 1).first?.event.seq
    }

    /// An origin's events in seq order after `afterSeq`, with their positions.
    public func readOrigin(_ origin: OriginID, afterSeq: UInt64, limit: Int) async throws -> [StoredEvent] {
        try await read("read the log") { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.eventColumns) FROM events WHERE origin = \(origin.hex) AND seq > \(Int64(clamping: afterSeq)) ORDER BY seq LIMIT \(Int64(limit))
                """, logger: self.logger)
            return try await Self.events(rows)
        }
    }

    /// An origin's seals in seq order.
    public func seals(of origin: OriginID) async throws -> [Seal] {
        try await seals(of: origin, after: 0, through: UInt64(Int64.max))
    }
}

extension PostgresEventStore: VerifiableLog {}
