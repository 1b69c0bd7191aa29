import ConcordCore
import ConcordProjections
import ConcordStorage

extension SQLiteEventStore {
    /// Stores events of any origin after verifying them (`BatchVerifier`: the rules are the same
    /// on every backend), in one transaction.
    ///
    /// Each origin's part is judged on its own. With `.setAside` (sync), the parts that verify are
    /// stored and the others are returned in `IngestResult.refused`, nothing of them stored: one
    /// origin's bad or forked events never stop the others. With `.allOrNothing` (an import), a
    /// refused part refuses the whole batch (the first refusal is thrown). Either way a fork, a
    /// different event at a held `(origin, seq)` signed by the origin, is kept as evidence
    /// (`forks()`), with the offered history and its seal.
    @discardableResult
    public func ingest(_ batch: IngestBatch, source: String = "import", policy: IngestPolicy = .allOrNothing) throws -> IngestResult {
        let now = options.clock()
        let result = try withConnection("store \(batch.events.count) event(s)") { state in
            try state.connection.transaction {
                try Ingest.run(batch, source: source, policy: policy, now: now, widensGrants: SharingGrants.mayWiden, in: SQLiteIngestTransaction(state.connection))
            }
        }
        if policy == .allOrNothing, let first = result.refused.first { throw first.error }
        if result.erasedOpenings { scrubAfterErasure() }
        if result.storedSomething { commits.signal() }
        return result
    }

    /// The first seal of an origin after `seq` (a range read of the seals' primary key).
    public func nextSeal(of origin: OriginID, after seq: UInt64) throws -> Seal? {
        try withConnection("read seals") { state in
            let statement = try state.connection.cached("SELECT seq, hash, signature FROM seals WHERE origin = ? AND seq > ? ORDER BY seq LIMIT 1")
            try statement.bind([.text(origin.hex), .integer(Int64(clamping: seq))])
            guard try statement.step() else { return nil }
            return Seal(origin: origin, seq: UInt64(bitPattern: statement.int64(0)), hash: EventHash(bytes: statement.blob(1)), signature: statement.blob(2))
        }
    }

    /// An origin's seals with seqs `after + 1 … through`.
    public func seals(of origin: OriginID, after: UInt64, through: UInt64) throws -> [Seal] {
        try withConnection("read seals") { state in
            let statement = try state.connection.cached("SELECT seq, hash, signature FROM seals WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq")
            try statement.bind([.text(origin.hex), .integer(Int64(clamping: after)), .integer(Int64(clamping: through))])
            var seals: [Seal] = []
            while try statement.step() {
                seals.append(Seal(origin: origin, seq: UInt64(bitPattern: statement.int64(0)), hash: EventHash(bytes: statement.blob(1)), signature: statement.blob(2)))
            }
            return seals
        }
    }

    /// The hash of a held event, or nil.
    public func eventHash(_ origin: OriginID, seq: UInt64) throws -> EventHash? {
        try withConnection("read the log") { state in try Self.storedHash(state.connection, EventID(origin: origin, seq: seq)) }
    }

    /// The public key recorded for an origin.
    public func originKey(_ origin: OriginID) throws -> OriginKey? {
        try withConnection("read origin keys") { state in try Self.storedKey(state.connection, origin) }
    }

    static func storedKey(_ connection: SQLiteConnection, _ origin: OriginID) throws -> OriginKey? {
        let statement = try connection.cached("SELECT public_key FROM origins WHERE origin = ?")
        defer { statement.reset() }
        try statement.bind(1, origin.hex)
        guard try statement.step() else { return nil }
        return OriginKey(origin: origin, publicKey: statement.blob(0))
    }

    static func storedHash(_ connection: SQLiteConnection, _ id: EventID) throws -> EventHash? {
        let statement = try connection.cached("SELECT hash FROM events WHERE origin = ? AND seq = ?")
        defer { statement.reset() }
        try statement.bind([.text(id.origin.hex), .integer(Int64(bitPattern: id.seq))])
        guard try statement.step() else { return nil }
        return EventHash(bytes: statement.blob(0))
    }

}

/// Keeps `stream_heads` right as foreign events arrive, in any order, with index lookups only.
///
/// A foreign event supersedes the heads it names. It becomes a head itself unless a stored event
/// already names it (it arrived after its successor): such parents are recorded in
/// `awaited_parents` when their successor is stored, so the check is one primary-key lookup.
struct HeadMover {
    private let connection: SQLiteConnection
    /// The highest seq held per origin (origins are gap-free, so every lower seq is held too).
    private var heldThrough: [OriginID: UInt64] = [:]

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    mutating func moveHeads(for event: Event) throws {
        let stream = SQLiteValue.text(event.stream.rawValue)
        for parent in event.prev {
            if try isHeld(parent) {
                try connection.cached("DELETE FROM stream_heads WHERE stream = ? AND origin = ? AND seq = ?")
                    .run([stream, .text(parent.origin.hex), .integer(Int64(bitPattern: parent.seq))])
            } else {
                try connection.cached("INSERT OR IGNORE INTO awaited_parents (origin, seq, stream) VALUES (?, ?, ?)")
                    .run([.text(parent.origin.hex), .integer(Int64(bitPattern: parent.seq)), stream])
            }
        }
        let id: [SQLiteValue] = [.text(event.origin.hex), .integer(Int64(bitPattern: event.seq))]
        try connection.cached("DELETE FROM awaited_parents WHERE origin = ? AND seq = ?").run(id)
        if connection.changes == 0 {
            try connection.cached("INSERT OR IGNORE INTO stream_heads (stream, origin, seq) VALUES (?, ?, ?)").run([stream] + id)
        }
        heldThrough[event.origin] = event.seq
    }

    private mutating func isHeld(_ id: EventID) throws -> Bool {
        if let seq = heldThrough[id.origin] { return id.seq <= seq }
        let seq = UInt64(clamping: try connection.scalarInt("SELECT max(seq) FROM events WHERE origin = ?", [.text(id.origin.hex)]) ?? 0)
        heldThrough[id.origin] = seq
        return id.seq <= seq
    }
}
