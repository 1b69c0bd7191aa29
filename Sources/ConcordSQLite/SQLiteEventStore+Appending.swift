import ConcordCore
import ConcordProjections
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
                    var writer = try AppendWriter(SQLiteIngestTransaction(connection), key: key, now: options.clock(), widensGrants: SharingGrants.mayWiden)
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
                var writer = try AppendWriter(SQLiteIngestTransaction(connection), key: key, now: options.clock(), format: options.eventFormat, widensGrants: SharingGrants.mayWiden)
                let appended = try writer.appendAll(next)
                erased = writer.erased
                return appended
            }
        }
        if erased > 0 { scrubAfterErasure() }
        if appended.count > 0 { commits.signal() }
        return appended
    }

    /// A commit longer than this is sealed every this many events as well as at its end (and
    /// before its unsealed run would pass `EventLimits.maxRunLineBytes`).
    public static var sealInterval: Int { AppendWriter<SQLiteIngestTransaction>.sealInterval }

    static func insertSeal(_ connection: SQLiteConnection, _ seal: Seal, at now: Int64) throws {
        let statement = try connection.cached("INSERT OR IGNORE INTO seals (origin, seq, hash, signature, sealed_at) VALUES (?, ?, ?, ?, ?)")
        try statement.run([.text(seal.origin.hex), .integer(Int64(bitPattern: seal.seq)), .blob(seal.hash.bytes), .blob(seal.signature), .integer(now)])
        statement.reset()
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

    static func streamVersion(_ connection: SQLiteConnection, _ stream: StreamID) throws -> Int {
        Int(try connection.scalarInt("SELECT max(stream_version) FROM events WHERE stream = ?", [.text(stream.rawValue)]) ?? 0)
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
