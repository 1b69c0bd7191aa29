import ConcordCore

/// What `Projector` asks of a store inside one write transaction to bring the read models up to
/// the log, or to build them again: rows read and written, no rule. Every backend's driver
/// conforms (SQLite on its writer connection, PostgreSQL on a pooled connection); which streams
/// to fold, whether a kept fold state may be extended and what folding changes are the engine's,
/// written once.
///
/// Calls take and give whole batches (a chunk of streams at a time), so a driver whose every
/// call is a round trip (PostgreSQL) makes a handful a chunk, not a handful a stream. Methods are
/// synchronous: a driver whose I/O is asynchronous runs the transaction on a thread of its own
/// and waits for each call there.
public protocol ReadModelTransaction {
    // MARK: Catch-up

    /// The read models' schema version and the log position they stand at; nil when none were
    /// built. A driver whose transactions can run at once (PostgreSQL) locks the row for the
    /// rest of the transaction: catch-ups fold one after another, never the same rows twice.
    func projectionState() throws -> (version: Int, position: Int64)?
    /// The log's end: every position up to it is committed.
    func logEnd() throws -> Int64
    /// The streams marked to be folded again though no event was added (`refold_streams`).
    func markedStreams() throws -> [String]
    /// The stream of every event stored after `position` up to `end`, in log order (one entry
    /// an event; the engine keeps each name once).
    func streamsStored(after position: Int64, through end: Int64) throws -> [String]
    /// The kept fold states (`fold_states`) of these streams, as stored; absent when none.
    func foldStates(of streams: [StreamID]) throws -> [StreamID: [UInt8]]
    /// The stream and hash of each held event among `ids`; absent when not held.
    func streamsAndHashes(of ids: [EventID]) throws -> [EventID: (stream: StreamID, hash: EventHash)]
    /// The hash of each held event among `ids`; absent when not held.
    func hashes(of ids: [EventID]) throws -> [EventID: EventHash]
    /// The log position of each (stream, stream version) held; absent when not held.
    func positions(of versions: [StreamVersion]) throws -> [StreamVersion: Int64]
    /// The events of these streams stored after `position` (all of them when nil) up to `end`,
    /// each stream's in any order (a fold sorts them). Read for folding: a driver may leave out what a fold does
    /// not use (causation and correlation ids, hashes).
    func events(of streams: [StreamID], after position: Int64?, through end: Int64) throws -> [StreamID: [Event]]
    /// Carries out the changes, in order: each stream's rows cleared from the tables it names,
    /// rows deleted by primary key, new rows inserted, and its fold state kept or dropped.
    func write(_ writes: [ReadModelWrite]) throws
    /// Forgets these marks (those `markedStreams` read: a mark another transaction adds
    /// meanwhile stays for its own catch-up).
    func clearMarkedStreams(_ streams: [String]) throws
    /// Records that the read models stand at `position` (the version unchanged).
    func saveProjectionPosition(_ position: Int64) throws

    // MARK: Rebuild

    /// How many domain streams the log holds (for progress).
    func domainStreamCount() throws -> Int
    /// Starts a rebuild: writes go from now to empty tables and an empty `fold_states`, which
    /// readers do not see before the transaction commits. `schemaChanged`: the tables' columns
    /// may differ from those stored (a driver that empties them in place recreates them).
    func beginRebuild(schemaChanged: Bool) throws
    /// Reads every domain stream's events stored up to `end`, a stream at a time (each stream's
    /// events in any order), calling `body` for each; `body` may write.
    func forEachDomainStream(through end: Int64, _ body: (StreamID, [Event]) throws -> Void) throws
    /// Puts the rebuilt tables in place of the old ones and records that they stand at
    /// `position`, built by this schema `version` at `now`.
    func finishRebuild(version: Int, position: Int64, at now: Int64) throws
}

/// One stream version of one stream: a key for `ReadModelTransaction.positions(of:)`.
public struct StreamVersion: Hashable, Sendable {
    public var stream: StreamID
    public var version: Int

    public init(_ stream: StreamID, _ version: Int) {
        self.stream = stream
        self.version = version
    }
}

/// What `ReadModelTransaction.write` carries out for one stream.
public struct ReadModelWrite: Sendable {
    /// What to do with the stream's row in `fold_states`.
    public enum FoldState: Sendable, Equatable {
        /// Write this state (replacing any kept).
        case keep([UInt8])
        /// Delete the kept state, if any.
        case drop
        /// Leave `fold_states` as it is (a rebuild, whose table starts empty).
        case leave
    }

    public var change: ReadModelFold.Change
    public var foldState: FoldState

    public init(_ change: ReadModelFold.Change, foldState: FoldState) {
        self.change = change
        self.foldState = foldState
    }
}
