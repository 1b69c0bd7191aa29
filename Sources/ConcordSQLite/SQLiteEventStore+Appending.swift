import ConcordCore
import ConcordStorage

extension SQLiteEventStore {
    /// Appends in one `BEGIN IMMEDIATE` transaction: checks expected versions, extends the origin's
    /// chain, inserts the events, moves the stream heads and stores one seal over the new head.
    /// When it returns, the commit is on disk to the configured durability.
    ///
    /// Group commit: appends made concurrently (by threads here, or by tasks through the `async`
    /// overload) while another commit runs are committed together, in one transaction under one
    /// seal, so they share the cost of the commit's sync. Each keeps its own expected-version
    /// check: an append refused for its expected version fails alone and the others are stored.
    /// Any other failure (storage, I/O) fails the whole group, and nothing of it is stored.
    ///
    /// Blocks the calling thread: from async code, use the `async` overload.
    @discardableResult
    public func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion]) throws -> AppendResult {
        guard !drafts.isEmpty else {
            throw ConcordError(.invalidArgument, "nothing to append: no events were given")
        }
        let request = AppendRequest(drafts: drafts, expecting: expecting)
        // Wait while another appender leads a commit; return if it committed this request, or
        // lead the next commit, taking every request queued by the time the connection is free.
        if pendingAppends.enqueueAndWaitToLead(request) { leadCommit() }
        return try request.result!.get()
    }

    /// `append(_:expecting:)` for tasks: while another commit runs, the task is suspended rather
    /// than a thread blocked, so many concurrent writers (a server's requests) cost no thread
    /// switches while they wait. The task given the lead runs the commit on its own thread, which
    /// it blocks for the commit as every call into the store does. (Moving the commit to a queue
    /// of its own halved a lone writer's rate: two thread hand-offs an append.)
    @discardableResult
    public func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion] = [:]) async throws -> AppendResult {
        guard !drafts.isEmpty else {
            throw ConcordError(.invalidArgument, "nothing to append: no events were given")
        }
        let request = AppendRequest(drafts: drafts, expecting: expecting)
        if await pendingAppends.enqueueAndAwaitTurnToLead(request) { leadCommit() }
        return try request.result!.get()
    }

    /// Commits everything queued, as the leader, and hands the lead on.
    private func leadCommit() {
        state.withLock { state in
            defer { state.connection.resetBusyStatements() }
            let group = pendingAppends.takeAll()
            let results = commitGroup(group, &state)
            if results.contains(where: { if case .success = $0 { true } else { false } }) { commits.signal() }
            pendingAppends.finishLeading(group, results: results)
        }
    }

    /// Commits every request in one transaction; returns each request's result.
    private func commitGroup(_ group: [AppendRequest], _ state: inout State) -> [Result<AppendResult, any Error>] {
        let what = group.count == 1 ? "append \(group[0].drafts.count) event(s)" : "append \(group.count) concurrent commits"
        var refused: [Int: any Error] = [:]
        var stored: [[StoredEvent]] = Array(repeating: [], count: group.count)
        var erased = 0
        do {
            let seal = try Self.storage(what) {
                let connection = state.connection
                return try connection.transaction {
                    // Inside the write transaction: two processes cannot both start a new incarnation.
                    let key = try writerKey(&state)
                    var writer = try AppendWriter(connection, key: key, now: options.clock())
                    for (index, request) in group.enumerated() {
                        do {
                            try writer.check(request.expecting)
                        } catch let error as ConcordError where error.code == .wrongExpectedVersion {
                            refused[index] = error
                            continue
                        }
                        stored[index] = try request.drafts.map { try writer.append($0, keeping: true)! }
                    }
                    let seal = try writer.finish()
                    erased = writer.erased
                    // Erased openings leave the read models in the same transaction.
                    if erased > 0, try Self.projectionCheckpoint(connection).version != nil { _ = try Self.catchUp(connection) }
                    return seal
                }
            }
            if erased > 0 { _ = try? Self.scrub(state.connection) }
            return group.indices.map { index in
                if let error = refused[index] { .failure(error) } else { .success(AppendResult(events: stored[index], seal: seal)) }
            }
        } catch {
            return group.map { _ in .failure(error) }
        }
    }

    /// Appends every draft `next` produces, until it returns nil, in one transaction, without
    /// holding them all in memory: for imports of any size. If `next` throws, nothing is stored.
    /// Returns how many were appended and the seal over the last (nil when there were none).
    @discardableResult
    public func appendAll(_ next: () throws -> EventDraft?) throws -> (count: Int, seal: Seal?) {
        var erased = 0
        let appended = try withConnection("append the events") { state -> (count: Int, seal: Seal?) in
            let connection = state.connection
            return try connection.transaction { () -> (count: Int, seal: Seal?) in
                let key = try writerKey(&state)
                var writer = try AppendWriter(connection, key: key, now: options.clock(), format: options.eventFormat)
                var count = 0
                while let draft = try next() {
                    _ = try writer.append(draft, keeping: false)
                    count += 1
                }
                guard count > 0 else { return (0, nil) }
                let seal = try writer.finish()
                erased = writer.erased
                if erased > 0, try Self.projectionCheckpoint(connection).version != nil { _ = try Self.catchUp(connection) }
                return (count, seal)
            }
        }
        if erased > 0 { scrubAfterErasure() }
        if appended.count > 0 { commits.signal() }
        return appended
    }

    /// A commit longer than this is sealed every this many events as well as at its end (and
    /// before its unsealed run would pass `EventLimits.maxRunLineBytes`).
    public static let sealInterval = EventLimits.maxEventsPerSeal

    static func insertSeal(_ connection: SQLiteConnection, _ seal: Seal, at now: Int64) throws {
        let statement = try connection.cached("INSERT OR IGNORE INTO seals (origin, seq, hash, signature, sealed_at) VALUES (?, ?, ?, ?, ?)")
        try statement.run([.text(seal.origin.hex), .integer(Int64(bitPattern: seal.seq)), .blob(seal.hash.bytes), .blob(seal.signature), .integer(now)])
        statement.reset()
    }

    static func describe(_ expected: ExpectedVersion) -> String {
        switch expected {
        case .any: "any"
        case .noStream: "0 (a new stream)"
        case .exactly(let version): "\(version)"
        }
    }

    static let insertEventSQL = """
        INSERT INTO events (origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,
                            stored_at, actor, causation_id, correlation_id, prev, data, prev_hash, hash,
                            commitment, salt, disclosure)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Binds and runs the insert of one event (the statement is reset after). `scratch` is reused
    /// from event to event to hold the texts SQLite reads in place.
    static func bindInsert(_ statement: SQLiteStatement, _ event: Event, streamVersion: Int, storedAt: Int64, scratch: inout [UInt8]) throws {
        let texts: [(index: Int32, value: String?)] = [
            (1, event.origin.hex), (3, event.stream.rawValue), (5, event.type.rawValue), (11, event.actor),
            (12, event.causationID), (13, event.correlationID), (14, encodePrev(event.prev)), (15, event.payload),
        ]
        try statement.withBorrowedTexts(texts, scratch: &scratch) {
            try statement.bind(2, Int64(bitPattern: event.seq))
            try statement.bind(4, Int64(streamVersion))
            try statement.bind(6, Int64(event.schemaVersion))
            try statement.bind(7, event.hlc.packed)
            try statement.bind(8, event.recordedAt)
            try statement.bind(9, event.occurredAt)
            try statement.bind(10, storedAt)
            try statement.bind(16, event.prevHash.bytes)
            try statement.bind(17, event.hash.bytes)
            if let commitment = event.commitment {
                try statement.bind(18, commitment.bytes)
                if event.disclosure == .full { try statement.bind(19, event.salt) }
            }
            try statement.bind(20, Int64(event.disclosure.rawValue))
            try statement.step()
        }
    }

    static func encodePrev(_ prev: [EventID]) -> String { StoredPrevList.encode(prev) }

    static func chainHead(_ connection: SQLiteConnection, key: NodeKey) throws -> OriginChain {
        let statement = try connection.cached("SELECT seq, hash FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
        try statement.bind(1, key.origin.hex)
        guard try statement.step() else { return OriginChain(key: key, lastSeq: 0, lastHash: .genesis) }
        return OriginChain(key: key, lastSeq: UInt64(bitPattern: statement.int64(0)), lastHash: EventHash(bytes: statement.blob(1)))
    }

    static func streamVersion(_ connection: SQLiteConnection, _ stream: StreamID) throws -> Int {
        Int(try connection.scalarInt("SELECT max(stream_version) FROM events WHERE stream = ?", [.text(stream.rawValue)]) ?? 0)
    }

    static func streamHeads(_ connection: SQLiteConnection, _ stream: StreamID) throws -> [EventID] {
        let statement = try connection.cached("SELECT origin, seq FROM stream_heads WHERE stream = ? ORDER BY origin, seq")
        try statement.bind(1, stream.rawValue)
        var heads: [EventID] = []
        while try statement.step() {
            heads.append(EventID(origin: OriginID(unchecked: statement.text(0)), seq: UInt64(bitPattern: statement.int64(1))))
        }
        return heads
    }
}

/// The work of one append transaction: extends the chain, inserts events, and at the end moves
/// the stream heads and seals. Stream versions and heads are read once a stream and then kept
/// in memory for the rest of the transaction.
///
/// Clock: every stamp is above every stamp stored (so above the event's parents and the origin's
/// earlier events). A stored stamp further ahead of this node's clock than
/// `EventLimits.maxClockAheadMillis` (kept by an older release, or this machine's clock went
/// back) does not drag the clock for every stream: it is then passed only where it must be, for
/// the origin's own earlier events and the heads of the stream being extended.
struct AppendWriter {
    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    private let now: Int64
    private let format: Int
    private var chain: OriginChain
    private var clock: HybridLogicalClock
    /// True when some stored stamp is too far ahead to start the clock from (see above).
    private let clockFloorPerStream: Bool
    private var streams: [StreamID: (version: Int, heads: [EventID])] = [:]
    private var appendedStreams: Set<StreamID> = []
    private var scratch: [UInt8] = []
    private var appended = 0
    /// Openings destroyed by erasures appended in this commit.
    private(set) var erased = 0
    /// Whether an event appended may widen what region or meeting rules grant (`mayWidenGrants`).
    private var grantsMayWiden = false
    /// Events and exchange-line bytes since the last seal of this commit.
    private var unsealedEvents = 0
    private var unsealedBytes = 0

    init(_ connection: SQLiteConnection, key: NodeKey, now: Int64, format: Int = 2) throws {
        self.format = format
        guard EventLimits.timeRange.contains(now) else {
            throw ConcordError(.invalidArgument, "this machine's clock says \(Timestamp.iso8601(millis: now)), outside the years 0001 to 9999; set it right before recording")
        }
        self.connection = connection
        self.now = now
        chain = try SQLiteEventStore.chainHead(connection, key: key)
        guard chain.lastSeq < EventLimits.seqRange.upperBound else {
            throw ConcordError(.storage, "origin \(chain.origin) is at seq \(chain.lastSeq), where no event can follow: the store has been tampered with (concord verify)")
        }
        let newest = HLCTimestamp(packed: try connection.scalarInt("SELECT max(hlc) FROM events") ?? 0)
        let aheadLimit = now + EventLimits.maxClockAheadMillis
        if newest.wallMillis <= aheadLimit {
            clock = HybridLogicalClock(last: newest)
            clockFloorPerStream = false
        } else {
            let bound = HLCTimestamp(wallMillis: aheadLimit, counter: .max).packed
            clock = HybridLogicalClock(last: HLCTimestamp(packed: try connection.scalarInt("SELECT max(hlc) FROM events WHERE hlc <= ?", [.integer(bound)]) ?? 0))
            if chain.lastSeq > 0, let own = try connection.scalarInt(
                "SELECT hlc FROM events WHERE origin = ? AND seq = ?", [.text(chain.origin.hex), .integer(Int64(bitPattern: chain.lastSeq))]
            ) {
                clock.observe(HLCTimestamp(packed: own))
            }
            clockFloorPerStream = true
        }
        insert = try connection.cached(SQLiteEventStore.insertEventSQL)
    }

    private mutating func stream(_ id: StreamID) throws -> (version: Int, heads: [EventID]) {
        if let known = streams[id] { return known }
        let state = (try SQLiteEventStore.streamVersion(connection, id), try SQLiteEventStore.streamHeads(connection, id))
        if clockFloorPerStream {
            for head in state.1 {
                if let stamp = try connection.scalarInt("SELECT hlc FROM events WHERE origin = ? AND seq = ?", [.text(head.origin.hex), .integer(Int64(bitPattern: head.seq))]) {
                    clock.observe(HLCTimestamp(packed: stamp))
                }
            }
        }
        streams[id] = state
        return state
    }

    /// Throws `wrongExpectedVersion` (before anything is written) unless every stream is where expected.
    mutating func check(_ expecting: [StreamID: ExpectedVersion]) throws {
        for (id, expected) in expecting.sorted(by: { $0.key < $1.key }) {
            let current = try stream(id).version
            guard expected.admits(current) else {
                throw ConcordError(
                    .wrongExpectedVersion,
                    "stream \(id) is at version \(current), but version \(SQLiteEventStore.describe(expected)) was expected; read it again and retry"
                )
            }
        }
    }

    /// Inserts the next event; returns it as stored when `keeping`.
    mutating func append(_ draft: EventDraft, keeping: Bool) throws -> StoredEvent? {
        var state = try stream(draft.stream)
        guard state.heads.count <= EventLimits.maxPrevCount else {
            throw ConcordError(.tooLarge, "stream \(draft.stream) has \(state.heads.count) concurrent heads, more than an event may name (\(EventLimits.maxPrevCount))")
        }
        let stamp: HLCTimestamp
        do {
            stamp = try clock.tick(now: now)
        } catch let error as ConcordError {
            throw ConcordError(error.code, "cannot record on stream \(draft.stream): \(error.message)")
        }
        let event = chain.append(draft, hlc: stamp, recordedAt: now, prev: state.heads, format: format)
        // Seal before this event when it would make the unsealed run longer than any peer takes
        // in one batch (the run then ends on the previous event).
        let lineBytes = event.exchangeLineBytes
        if unsealedEvents > 0, unsealedBytes + lineBytes > EventLimits.maxRunLineBytes {
            try SQLiteEventStore.insertSeal(connection, chain.key.seal(seq: event.seq - 1, hash: event.prevHash), at: now)
            unsealedEvents = 0
            unsealedBytes = 0
        }
        state.version = try SQLiteEventStore.nextVersion(of: draft.stream, after: state.version)
        let erasure = try Erasure.recorded(by: event)
        try SQLiteEventStore.bindInsert(insert, event, streamVersion: state.version, storedAt: now, scratch: &scratch)
        if let erasure { erased += try Ingest.applyErasure(erasure, by: event.id, in: SQLiteIngestTransaction(connection)) }
        if !grantsMayWiden { grantsMayWiden = SQLiteEventStore.mayWidenGrants(event, version: state.version) }
        // A local append has seen every head, so it becomes the stream's only head.
        state.heads = [event.id]
        streams[draft.stream] = state
        appendedStreams.insert(draft.stream)
        appended += 1
        unsealedEvents += 1
        unsealedBytes += lineBytes
        // Large commits are sealed every `sealInterval` events too, so sync can send them in
        // verifiable batches that end on a seal. (`finish` seals the end.)
        if unsealedEvents == SQLiteEventStore.sealInterval {
            try SQLiteEventStore.insertSeal(connection, chain.sealHead(), at: now)
            unsealedEvents = 0
            unsealedBytes = 0
        }
        guard keeping else { return nil }
        return StoredEvent(event: event, position: sqlite3LastInsertRowID(connection), streamVersion: state.version)
    }

    /// Writes the moved stream heads and the seal over the chain's new head (nothing when no
    /// event was appended; the seal is then the old head's and not stored again).
    func finish() throws -> Seal {
        guard appended > 0 else { return chain.sealHead() }
        let deleteHeads = try connection.cached("DELETE FROM stream_heads WHERE stream = ?")
        let insertHead = try connection.cached("INSERT INTO stream_heads (stream, origin, seq) VALUES (?, ?, ?)")
        for stream in appendedStreams {
            try deleteHeads.run([.text(stream.rawValue)])
            deleteHeads.reset()
            for head in streams[stream]!.heads {
                try insertHead.run([.text(stream.rawValue), .text(head.origin.hex), .integer(Int64(bitPattern: head.seq))])
                insertHead.reset()
            }
        }
        let seal = chain.sealHead()
        try SQLiteEventStore.insertSeal(connection, seal, at: now)
        if grantsMayWiden { try SQLiteEventStore.noteGrantsMayWiden(connection) }
        return seal
    }
}

extension SQLiteEventStore {
    /// The version after `version` in a stream; refused at the end of the range (only a tampered
    /// store gets there), rather than overflowing.
    static func nextVersion(of stream: StreamID, after version: Int) throws -> Int {
        guard version >= 0, version < Int(Int64.max) else {
            throw ConcordError(.storage, "stream \(stream) is at version \(version), where no event can follow: the store has been tampered with (concord verify)")
        }
        return version + 1
    }
}

extension SQLiteEventStore {
    /// Seals this node's own origin where its runs between seals are longer than a peer takes
    /// (`EventLimits.maxEventsPerSeal` events, `maxRunLineBytes` bytes: an older release sealed
    /// only at each commit's end), so that every part of them can be sent. A seal over an event
    /// already written changes nothing in the log; it only lets a shorter run verify. Only the
    /// current incarnation's events can be sealed (older incarnations' keys are gone). Returns
    /// the number of seals added.
    @discardableResult
    public func resealLongRuns() throws -> Int {
        guard case .current = try identityStatus() else { return 0 }
        return try withConnection("seal long runs") { state in
            let connection = state.connection
            return try connection.transaction {
                let key = try writerKey(&state)
                let origin = key.origin
                var sealed = Set<UInt64>()
                let seals = try connection.prepare("SELECT seq FROM seals WHERE origin = ?")
                try seals.bind(1, origin.hex)
                while try seals.step() { sealed.insert(UInt64(bitPattern: seals.int64(0))) }
                let events = try connection.prepare("SELECT \(Self.eventColumns) FROM events WHERE origin = ? ORDER BY seq")
                try events.bind(1, origin.hex)
                var runEvents = 0
                var runBytes = 0
                var previous: Event?
                var added: [Seal] = []
                while try events.step() {
                    let event = Self.decodeEvent(events).event
                    let weight = event.exchangeLineBytes
                    if let previous, runEvents > 0,
                       runEvents + 1 > EventLimits.maxEventsPerSeal || runBytes + weight > EventLimits.maxRunLineBytes {
                        added.append(key.seal(seq: previous.seq, hash: previous.hash))
                        runEvents = 0
                        runBytes = 0
                    }
                    runEvents += 1
                    runBytes += weight
                    if sealed.contains(event.seq) {
                        runEvents = 0
                        runBytes = 0
                    }
                    previous = event
                }
                events.reset()
                let now = options.clock()
                for seal in added { try Self.insertSeal(connection, seal, at: now) }
                return added.count
            }
        }
    }
}
