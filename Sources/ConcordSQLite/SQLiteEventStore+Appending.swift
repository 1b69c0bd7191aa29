import ConcordCore

extension SQLiteEventStore {
    /// Appends in one `BEGIN IMMEDIATE` transaction: checks expected versions, extends the origin's
    /// chain, inserts the events, moves the stream heads and stores one seal over the new head.
    /// When it returns, the commit is on disk to the configured durability.
    @discardableResult
    public func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion]) throws -> AppendResult {
        guard !drafts.isEmpty else {
            throw ConcordError(.invalidArgument, "nothing to append: no events were given")
        }
        var iterator = drafts.makeIterator()
        let (stored, seal) = try append(keeping: true, expecting: expecting, count: drafts.count) { iterator.next() }
        return AppendResult(events: stored, seal: seal)
    }

    /// Appends every draft `next` produces, until it returns nil, in one transaction, without
    /// holding them all in memory: for imports of any size. If `next` throws, nothing is stored.
    /// Returns how many were appended and the seal over the last (nil when there were none).
    @discardableResult
    public func appendAll(_ next: () throws -> EventDraft?) throws -> (count: Int, seal: Seal?) {
        var count = 0
        let (_, seal) = try append(keeping: false, expecting: [:], count: nil) {
            let draft = try next()
            if draft != nil { count += 1 }
            return draft
        }
        return (count, count > 0 ? seal : nil)
    }

    private func append(
        keeping: Bool, expecting: [StreamID: ExpectedVersion], count: Int?, _ next: () throws -> EventDraft?
    ) throws -> (stored: [StoredEvent], seal: Seal) {
        try withConnection("append \(count.map(String.init) ?? "the") event(s)") { state in
            let connection = state.connection
            return try connection.transaction {
                let key = try writerKey(&state)
                for (stream, expected) in expecting.sorted(by: { $0.key < $1.key }) {
                    let current = try Self.streamVersion(connection, stream)
                    guard expected.admits(current) else {
                        throw ConcordError(
                            .wrongExpectedVersion,
                            "stream \(stream) is at version \(current), but version \(Self.describe(expected)) was expected; read it again and retry"
                        )
                    }
                }
                var chain = try Self.chainHead(connection, key: key)
                var clock = HybridLogicalClock(last: HLCTimestamp(packed: try connection.scalarInt("SELECT max(hlc) FROM events") ?? 0))
                let now = options.clock()
                var streams: [StreamID: (version: Int, heads: [EventID])] = [:]
                var stored: [StoredEvent] = []
                if keeping { stored.reserveCapacity(count ?? 0) }
                var appended = 0
                let insert = try connection.cached(Self.insertEventSQL)
                while let draft = try next() {
                    var stream = try streams[draft.stream]
                        ?? (Self.streamVersion(connection, draft.stream), Self.streamHeads(connection, draft.stream))
                    let event = chain.append(draft, hlc: clock.tick(now: now), recordedAt: now, prev: stream.heads)
                    stream.version += 1
                    try Self.bindInsert(insert, event, streamVersion: stream.version, storedAt: now)
                    insert.reset()
                    if keeping {
                        stored.append(StoredEvent(event: event, position: Int64(sqlite3LastInsertRowID(connection)), streamVersion: stream.version))
                    }
                    appended += 1
                    // A local append has seen every head, so it becomes the stream's only head.
                    stream.heads = [event.id]
                    streams[draft.stream] = stream
                    // Large commits are sealed every `sealInterval` events too, so sync can send
                    // them in verifiable batches that end on a seal. (The final seal covers the end.)
                    if appended % Self.sealInterval == 0 {
                        try Self.insertSeal(connection, chain.sealHead(), at: now)
                    }
                }
                guard appended > 0 else { return ([], chain.sealHead()) }
                let deleteHeads = try connection.cached("DELETE FROM stream_heads WHERE stream = ?")
                let insertHead = try connection.cached("INSERT INTO stream_heads (stream, origin, seq) VALUES (?, ?, ?)")
                for (stream, value) in streams {
                    try deleteHeads.run([.text(stream.rawValue)])
                    deleteHeads.reset()
                    for head in value.heads {
                        try insertHead.run([.text(stream.rawValue), .text(head.origin.hex), .integer(Int64(head.seq))])
                        insertHead.reset()
                    }
                }
                let seal = chain.sealHead()
                try Self.insertSeal(connection, seal, at: now)
                return (stored, seal)
            }
        }
    }

    /// A commit longer than this is sealed every this many events as well as at its end.
    public static let sealInterval = 1000

    static func insertSeal(_ connection: SQLiteConnection, _ seal: Seal, at now: Int64) throws {
        let statement = try connection.cached("INSERT OR IGNORE INTO seals (origin, seq, hash, signature, sealed_at) VALUES (?, ?, ?, ?, ?)")
        try statement.run([.text(seal.origin.hex), .integer(Int64(seal.seq)), .blob(seal.hash.bytes), .blob(seal.signature), .integer(now)])
        statement.reset()
    }

    private static func describe(_ expected: ExpectedVersion) -> String {
        switch expected {
        case .any: "any"
        case .noStream: "0 (a new stream)"
        case .exactly(let version): "\(version)"
        }
    }

    static let insertEventSQL = """
        INSERT INTO events (origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,
                            stored_at, actor, causation_id, correlation_id, prev, data, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func bindInsert(_ statement: SQLiteStatement, _ event: Event, streamVersion: Int, storedAt: Int64) throws {
        try statement.bind(1, event.origin.hex)
        try statement.bind(2, Int64(event.seq))
        try statement.bind(3, event.stream.rawValue)
        try statement.bind(4, Int64(streamVersion))
        try statement.bind(5, event.type.rawValue)
        try statement.bind(6, Int64(event.schemaVersion))
        try statement.bind(7, event.hlc.packed)
        try statement.bind(8, event.recordedAt)
        try statement.bind(9, event.occurredAt)
        try statement.bind(10, storedAt)
        try statement.bind(11, event.actor)
        try statement.bind(12, event.causationID)
        try statement.bind(13, event.correlationID)
        try statement.bind(14, encodePrev(event.prev))
        try statement.bind(15, event.payload)
        try statement.bind(16, event.prevHash.bytes)
        try statement.bind(17, event.hash.bytes)
        try statement.step()
    }

    /// `prev` as stored: event ids `ORIGIN:SEQ` separated by single spaces, sorted; empty when none.
    static func encodePrev(_ prev: [EventID]) -> String {
        prev.map(\.description).joined(separator: " ")
    }

    static func chainHead(_ connection: SQLiteConnection, key: NodeKey) throws -> OriginChain {
        let statement = try connection.cached("SELECT seq, hash FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
        try statement.bind(1, key.origin.hex)
        guard try statement.step() else { return OriginChain(key: key, lastSeq: 0, lastHash: .genesis) }
        return OriginChain(key: key, lastSeq: UInt64(statement.int64(0)), lastHash: EventHash(bytes: statement.blob(1)))
    }

    static func streamVersion(_ connection: SQLiteConnection, _ stream: StreamID) throws -> Int {
        Int(try connection.scalarInt("SELECT max(stream_version) FROM events WHERE stream = ?", [.text(stream.rawValue)]) ?? 0)
    }

    static func streamHeads(_ connection: SQLiteConnection, _ stream: StreamID) throws -> [EventID] {
        let statement = try connection.cached("SELECT origin, seq FROM stream_heads WHERE stream = ? ORDER BY origin, seq")
        try statement.bind(1, stream.rawValue)
        var heads: [EventID] = []
        while try statement.step() {
            heads.append(EventID(origin: OriginID(unchecked: statement.text(0)), seq: UInt64(statement.int64(1))))
        }
        return heads
    }
}
