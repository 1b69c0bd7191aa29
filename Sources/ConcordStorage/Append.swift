import ConcordCore

/// What the engine asks of a store inside one write transaction to record this node's own
/// events (`AppendWriter`), beyond what ingest asks: rows read and written, no rule.
public protocol AppendTransaction: IngestTransaction {
    /// The origin's highest held event: its seq, hash and clock stamp (nil when none is held).
    func head(of origin: OriginID) throws -> (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)?
    /// Inserts one seal (a seal already held is kept as it is).
    func insertSeal(_ seal: Seal, at now: Int64) throws
    /// The highest clock stamp held; with `bound`, the highest at or below it. Nil when none.
    func newestStamp(atOrBelow bound: HLCTimestamp?) throws -> HLCTimestamp?
    /// The clock stamp of a held event.
    func stamp(of event: EventID) throws -> HLCTimestamp?
    /// A stream's version (0 when it holds no event) and its heads, in (origin, seq) order.
    func versionAndHeads(of stream: StreamID) throws -> (version: Int, heads: [EventID])
    /// Inserts an event this node records, as version `streamVersion` of its stream; returns
    /// its position. (Its stream's heads are set once, by `replaceHeads`, when the commit ends.)
    func insertRecorded(_ event: Event, streamVersion: Int, at now: Int64) throws -> Int64
    /// Sets a stream's heads (a driver that derives them from the events does nothing).
    func replaceHeads(of stream: StreamID, with heads: [EventID]) throws
    /// Locks, for the rest of the transaction, what recording as `origin` reads: the origin,
    /// and whatever keeps the stream versions it reads from moving under it (PostgreSQL: the
    /// log's position row, after the origin, the order ingest takes them in); a driver whose
    /// transactions already exclude each other does nothing.
    func lockForRecording(_ origin: OriginID) throws
}

/// The work of one commit of this node's own events, written once over any driver's
/// `AppendTransaction`: extends the origin's chain, stamps each event with the hybrid logical
/// clock, names the stream's heads as its parents, inserts it, applies an erasure it records,
/// and at the end moves the stream heads and seals. Stream versions and heads are read once a
/// stream and then kept in memory for the rest of the transaction. The driver holds the
/// transaction (and, where writers do not already exclude each other, the origin's lock).
///
/// Clock: every stamp is above every stamp stored (so above the event's parents and the origin's
/// earlier events). A stored stamp further ahead of this node's clock than
/// `EventLimits.maxClockAheadMillis` (kept by an older release, or this machine's clock went
/// back) does not drag the clock for every stream: it is then passed only where it must be, for
/// the origin's own earlier events and the heads of the stream being extended.
///
/// Seals: one over the commit's last event (`finish`), and every `sealInterval` events, and
/// before an event that would make the unsealed run longer than a peer takes in one batch
/// (`EventLimits.maxRunLineBytes`), so sync can send any commit in verifiable batches.
public struct AppendWriter<Transaction: AppendTransaction> {
    /// A commit longer than this is sealed every this many events as well as at its end.
    public static var sealInterval: Int { EventLimits.maxEventsPerSeal }

    private let tx: Transaction
    private let now: Int64
    private let format: Int
    private let widensGrants: (Event, _ streamVersion: Int) -> Bool
    private var chain: OriginChain
    private var clock: HybridLogicalClock
    /// True when some stored stamp is too far ahead to start the clock from (see above).
    private let clockFloorPerStream: Bool
    private var streams: [StreamID: (version: Int, heads: [EventID])] = [:]
    private var appendedStreams: Set<StreamID> = []
    private var appended = 0
    /// Openings destroyed by erasures appended in this commit.
    public private(set) var erased = 0
    /// Whether an event appended may widen what region or meeting rules grant.
    private var grantsMayWiden = false
    /// Events and exchange-line bytes since the last seal of this commit.
    private var unsealedEvents = 0
    private var unsealedBytes = 0

    /// - Parameters:
    ///   - key: the key of the origin this node writes as (its current incarnation).
    ///   - now: this machine's clock, for every event's `recordedAt` and stamp.
    ///   - format: the event format new events are written in (1 only for benchmarks).
    ///   - widensGrants: whether an event may widen what sharing rules grant (the domain's rule).
    public init(_ tx: Transaction, key: NodeKey, now: Int64, format: Int = 2, widensGrants: @escaping (Event, _ streamVersion: Int) -> Bool) throws {
        guard EventLimits.timeRange.contains(now) else {
            throw ConcordError(.invalidArgument, "this machine's clock says \(Timestamp.iso8601(millis: now)), outside the years 0001 to 9999; set it right before recording")
        }
        self.tx = tx
        self.now = now
        self.format = format
        self.widensGrants = widensGrants
        try tx.lockForRecording(key.origin)
        let head = try tx.head(of: key.origin)
        // The origin's key is kept with the others' (a peer checks its events with it), stored
        // at the latest with its first event: an origin with events held has it already.
        if head == nil, try tx.key(of: key.origin) == nil { try tx.insertKey(key.originKey, at: now) }
        chain = OriginChain(key: key, lastSeq: head?.seq ?? 0, lastHash: head?.hash ?? .genesis)
        guard chain.lastSeq < EventLimits.seqRange.upperBound else {
            throw ConcordError(.storage, "origin \(chain.origin) is at seq \(chain.lastSeq), where no event can follow: the store has been tampered with")
        }
        let newest = try tx.newestStamp(atOrBelow: nil) ?? HLCTimestamp(packed: 0)
        let aheadLimit = now + EventLimits.maxClockAheadMillis
        if newest.wallMillis <= aheadLimit {
            clock = HybridLogicalClock(last: newest)
            clockFloorPerStream = false
        } else {
            clock = HybridLogicalClock(last: try tx.newestStamp(atOrBelow: HLCTimestamp(wallMillis: aheadLimit, counter: .max)) ?? HLCTimestamp(packed: 0))
            if let own = head?.hlc { clock.observe(own) }
            clockFloorPerStream = true
        }
    }

    private mutating func stream(_ id: StreamID) throws -> (version: Int, heads: [EventID]) {
        if let known = streams[id] { return known }
        let state = try tx.versionAndHeads(of: id)
        if clockFloorPerStream {
            for head in state.heads {
                if let stamp = try tx.stamp(of: head) { clock.observe(stamp) }
            }
        }
        streams[id] = state
        return state
    }

    /// Throws `wrongExpectedVersion` (before anything is written) unless every stream is where expected.
    public mutating func check(_ expecting: [StreamID: ExpectedVersion]) throws {
        for (id, expected) in expecting.sorted(by: { $0.key < $1.key }) {
            let current = try stream(id).version
            guard expected.admits(current) else {
                throw ConcordError(
                    .wrongExpectedVersion,
                    "stream \(id) is at version \(current), but version \(Self.describe(expected)) was expected; read it again and retry"
                )
            }
        }
    }

    /// Inserts the next event; returns it as stored when `keeping`.
    public mutating func append(_ draft: EventDraft, keeping: Bool) throws -> StoredEvent? {
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
            try tx.insertSeal(chain.key.seal(seq: event.seq - 1, hash: event.prevHash), at: now)
            unsealedEvents = 0
            unsealedBytes = 0
        }
        state.version = try StreamVersions.next(of: draft.stream, after: state.version)
        let erasure = try Erasure.recorded(by: event)
        let position = try tx.insertRecorded(event, streamVersion: state.version, at: now)
        if let erasure { erased += try Ingest.applyErasure(erasure, by: event.id, in: tx) }
        if !grantsMayWiden { grantsMayWiden = widensGrants(event, state.version) }
        // A local append has seen every head, so it becomes the stream's only head.
        state.heads = [event.id]
        streams[draft.stream] = state
        appendedStreams.insert(draft.stream)
        appended += 1
        unsealedEvents += 1
        unsealedBytes += lineBytes
        if unsealedEvents == Self.sealInterval {
            try tx.insertSeal(chain.sealHead(), at: now)
            unsealedEvents = 0
            unsealedBytes = 0
        }
        guard keeping else { return nil }
        return StoredEvent(event: event, position: position, streamVersion: state.version)
    }

    /// Appends the drafts `next` gives until it gives nil (`import --new`: none kept once
    /// inserted), then `finish`es; returns how many and the seal over the new head, nil when
    /// `next` gave none. Nothing is stored when `next` throws (the caller's transaction is
    /// rolled back).
    public mutating func appendAll(_ next: () throws -> EventDraft?) throws -> (count: Int, seal: Seal?) {
        var count = 0
        while let draft = try next() {
            _ = try append(draft, keeping: false)
            count += 1
        }
        return (count, count > 0 ? try finish() : nil)
    }

    /// Writes the moved stream heads and the seal over the chain's new head (nothing when no
    /// event was appended; the seal is then the old head's and not stored again); moves the
    /// openings number when an event may have widened what the node's region or meeting rules
    /// grant (peers then ask again for the openings of their stubs); takes the erased openings
    /// out of the read models in the same transaction; and announces the commit.
    public func finish() throws -> Seal {
        guard appended > 0 else { return chain.sealHead() }
        for stream in appendedStreams {
            try tx.replaceHeads(of: stream, with: streams[stream]!.heads)
        }
        let seal = chain.sealHead()
        try tx.insertSeal(seal, at: now)
        if grantsMayWiden, try tx.hasResolvedShareRules() { try tx.bumpOpeningsGeneration() }
        if erased > 0 { try tx.catchUpReadModels() }
        try tx.announceCommit()
        return seal
    }

    static func describe(_ expected: ExpectedVersion) -> String {
        switch expected {
        case .any: "any"
        case .noStream: "0 (a new stream)"
        case .exactly(let version): "\(version)"
        }
    }
}

/// Stream versions: 1, 2, 3… in the order a stream's events are stored on this node.
public enum StreamVersions {
    /// The version after `version` in a stream; refused at the end of the range (only a tampered
    /// store gets there), rather than overflowing.
    public static func next(of stream: StreamID, after version: Int) throws -> Int {
        guard version >= 0, version < Int(Int64.max) else {
            throw ConcordError(.storage, "stream \(stream) is at version \(version), where no event can follow: the store has been tampered with")
        }
        return version + 1
    }
}
