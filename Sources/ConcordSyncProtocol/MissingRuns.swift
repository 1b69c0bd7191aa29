import ConcordCore

/// What sending a peer the events it lacks reads from a node, whatever stores them.
public protocol BatchSource: Sendable {
    /// `{origin: highest seq}` over the stored events.
    func versionVector() async throws -> VersionVector
    /// The public key recorded for an origin.
    func originKey(_ origin: OriginID) async throws -> OriginKey?
    /// The hash of a held event, or nil.
    func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash?
    /// The origin's first seal after `seq`, or nil.
    func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal?
    /// The origin's events with seqs `after + 1 … through`, in seq order.
    func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event]
    /// The lowest seq above `seq` at which the origin has an event, or nil: what a walk over a
    /// damaged log (a gap, a seq far out) jumps to instead of stepping through empty ranges.
    func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64?
    /// The origin's seals with seqs `after + 1 … through`, in seq order (`nextSeal` over and
    /// over by default).
    func seals(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Seal]
    /// The hashes of the held events among `ids` (one lookup each by default; a backend whose
    /// reads cross a network answers them in one round trip).
    func eventHashes(_ ids: [EventID]) async throws -> [EventID: EventHash]
    /// For each start `(origin, seq)`, the origin's first seal after `seq` and the events it
    /// covers from `seq + 1` (`nextSeal`, then `events`, by default; one round trip where reads
    /// cross a network); an origin with no seal after its seq is absent from the answer.
    func nextRuns(_ starts: [EventID]) async throws -> [OriginID: (seal: Seal, events: [Event])]
    /// How many origins' next runs `MissingRuns` reads at once: 1 (no read-ahead) by default,
    /// more where a round trip costs more than the memory of the runs read ahead.
    var readAheadOrigins: Int { get }
    /// Signed checkpoints held (docs/audit.md): of each signer, those numbered above `numbers`
    /// names, oldest first, at most `limit`. None by default: a store that keeps none.
    func heldCheckpoints(after numbers: [OriginID: UInt64], limit: Int) async throws -> [Checkpoint]
}

extension BatchSource {
    public var readAheadOrigins: Int { 1 }

    public func heldCheckpoints(after numbers: [OriginID: UInt64], limit: Int) async throws -> [Checkpoint] { [] }

    public func nextRuns(_ starts: [EventID]) async throws -> [OriginID: (seal: Seal, events: [Event])] {
        var runs: [OriginID: (seal: Seal, events: [Event])] = [:]
        for start in starts {
            guard let seal = try await nextSeal(of: start.origin, after: start.seq) else { continue }
            runs[start.origin] = (seal, try await events(of: start.origin, after: start.seq, through: seal.seq))
        }
        return runs
    }

    public func seals(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Seal] {
        var seals: [Seal] = []
        var cursor = after
        while let seal = try await nextSeal(of: origin, after: cursor), seal.seq <= through, seal.seq > cursor {
            seals.append(seal)
            cursor = seal.seq
        }
        return seals
    }

    public func eventHashes(_ ids: [EventID]) async throws -> [EventID: EventHash] {
        var hashes: [EventID: EventHash] = [:]
        for id in ids {
            if let hash = try await eventHash(id.origin, seq: id.seq) { hashes[id] = hash }
        }
        return hashes
    }

    /// For each origin of `vector`, the hash of the held event at `vector[origin]`.
    public func heads(at vector: VersionVector) async throws -> [OriginID: EventHash] {
        let hashes = try await eventHashes(vector.entries.map { EventID(origin: $0.key, seq: $0.value) })
        return Dictionary(uniqueKeysWithValues: hashes.map { ($0.key.origin, $0.value) })
    }
}

/// One origin's events from one seal (or its start) to the next seal, with its key when the run
/// is the origin's first in the batch: the unit every batch is made of, so that each origin's
/// part of a batch ends on a seal and verifies.
public struct Run: Sendable {
    public var key: OriginKey?
    public var events: [Event]
    public var seal: Seal

    /// The bytes its lines take in exchange NDJSON (what a batch budget counts).
    public var lineBytes: Int {
        events.reduce(0) { $0 + $1.exchangeLineBytes } + seal.exchangeJSON.utf8.count + 1 + (key.map { $0.exchangeJSON.utf8.count + 1 } ?? 0)
    }

    public var batch: IngestBatch { IngestBatch(keys: key.map { [$0] } ?? [], events: events, seals: [seal]) }
}

/// The runs a peer lacks, one at a time, in `(origin, seq)` order and within the peer's budget:
/// the pull answer (streamed run by run), a push batch and the simulation's messages are all
/// made here, so a node sends alike whoever asks.
///
/// Given the peer's vector `have` and `heads` (the hash of the peer's event at `have[origin]`),
/// an origin whose head hash differs from the event held at that seq is sent from that seq (the
/// held event and its run up to its seal) and no further: the peer sees two different events of
/// one origin at one seq and keeps the proof. `proofRuns` asks for the same on purpose (the
/// pusher sending its side of a fork it found). An origin whose next run cannot be sent within
/// the budget at all (a run longer than the limits allow, kept by an older release) is set aside
/// and reported, never skipped silently.
public struct MissingRuns: Sendable {
    private let source: any BatchSource
    private let budget: BatchBudget
    /// The local vector when the batch began.
    public let vector: VersionVector
    /// Origins whose head hash the peer gave and which differ from this node's at that seq.
    public private(set) var mismatched: [OriginID: UInt64] = [:]
    /// Origins this batch cannot send at all, and why.
    public private(set) var setAside: [SyncWire.Refusal] = []
    /// True once `next` returned nil because the budget was full while the peer still lacks events.
    public private(set) var more = false
    /// For each origin of which the peer holds more than this node (and this node holds some),
    /// the hash of this node's event at `vector[origin]` (`SyncWire.BatchEnd.heads`).
    public private(set) var headsForPeer: [OriginID: EventHash] = [:]
    public private(set) var events = 0
    public private(set) var bytes = 0

    /// Per origin still to send: where its next run starts (after this seq), and whether it is a
    /// single proof run.
    private var pending: [(origin: OriginID, after: UInt64, proofOnly: Bool)]
    /// Runs read ahead for the next pending origins (`BatchSource.readAheadOrigins` a read),
    /// keyed by where each starts (the `EventID` of the seq it follows).
    private var readAhead: [EventID: (seal: Seal, events: [Event])?] = [:]
    private var keyed: Set<OriginID> = []

    public init(
        source: any BatchSource, have: VersionVector, heads: [OriginID: EventHash] = [:], exclude: Set<OriginID> = [],
        proofRuns: [OriginID: UInt64] = [:], budget: BatchBudget
    ) async throws {
        self.source = source
        self.budget = budget
        vector = try await source.versionVector()
        // Every head hash this needs, looked up at once: the peer's heads where it holds less or
        // as much, this node's own where the peer holds more.
        var wanted: [EventID] = []
        for (origin, highest) in vector.sorted where !exclude.contains(origin) {
            if let from = proofRuns[origin], from >= 1, from <= highest { continue }
            let theirs = have[origin]
            if theirs > highest {
                wanted.append(EventID(origin: origin, seq: highest))
            } else if theirs >= 1, heads[origin] != nil {
                wanted.append(EventID(origin: origin, seq: theirs))
            }
        }
        let held = try await source.eventHashes(wanted)
        var pending: [(origin: OriginID, after: UInt64, proofOnly: Bool)] = []
        for (origin, highest) in vector.sorted {
            if let from = proofRuns[origin], from >= 1, from <= highest {
                pending.append((origin, from - 1, true))
                continue
            }
            guard !exclude.contains(origin) else { continue }
            let theirs = have[origin]
            if theirs > highest {
                if let hash = held[EventID(origin: origin, seq: highest)] { headsForPeer[origin] = hash }
                continue
            }
            if theirs >= 1, let their = heads[origin], let mine = held[EventID(origin: origin, seq: theirs)], mine != their {
                mismatched[origin] = theirs
                pending.append((origin, theirs - 1, true))
                continue
            }
            if theirs < highest { pending.append((origin, theirs, false)) }
        }
        self.pending = pending
    }

    /// The next run that fits, or nil when the batch is complete (`more` says whether it was full).
    public mutating func next() async throws -> Run? {
        while let (origin, after, proofOnly) = pending.first {
            let start = EventID(origin: origin, seq: after)
            if readAhead[start] == nil {
                // The next origins' runs in one read: their first runs are usually all a pull needs.
                let starts = pending.prefix(max(1, source.readAheadOrigins)).map { EventID(origin: $0.origin, seq: $0.after) }.filter { readAhead[$0] == nil }
                let runs = try await source.nextRuns(starts)
                for start in starts { readAhead[start] = .some(runs[start.origin]) }
            }
            let fetched = readAhead.removeValue(forKey: start) ?? nil
            guard let (seal, runEvents) = fetched else {
                // Events after the last seal cannot be verified by anyone: this node's log is unsound there.
                setAside.append(SyncWire.Refusal(origin: origin, seq: after + 1, code: ConcordError.Code.invalidEvent.rawValue,
                    message: "this node holds events of origin \(origin) after seq \(after) that no seal covers; it cannot send them (concord verify names the fault)"))
                pending.removeFirst()
                continue
            }
            let key = keyed.contains(origin) ? nil : try await source.originKey(origin)
            let run = Run(key: key, events: runEvents, seal: seal)
            let eventBytes = runEvents.reduce(0) { $0 + $1.exchangeLineBytes }
            let runBytes = run.lineBytes
            // A run longer than the protocol allows (kept by an older release) would be refused by
            // every receiver; one that does not fit even an empty batch cannot be sent at all.
            let withinProtocol = runEvents.count <= EventLimits.maxEventsPerSeal && eventBytes <= EventLimits.maxRunLineBytes
            let fitsEmpty = runEvents.count <= budget.maxEvents && runBytes <= budget.maxBytes
            guard withinProtocol, fitsEmpty, !runEvents.isEmpty else {
                setAside.append(SyncWire.Refusal(origin: origin, seq: after + 1, code: ConcordError.Code.tooLarge.rawValue,
                    message: "origin \(origin)'s events \(after + 1)…\(seal.seq) form one run between seals of \(runEvents.count) events and \(runBytes) bytes, more than one batch may carry (\(budget.maxEvents) events, \(budget.maxBytes) bytes); they cannot be sent until the origin seals them more often"))
                pending.removeFirst()
                continue
            }
            // An event outside today's ranges (stored by an older release) would be refused by every
            // peer, and with it the whole answer: its origin is set aside instead.
            if let bad = runEvents.first(where: { $0.rangeViolation != nil }) {
                setAside.append(SyncWire.Refusal(origin: origin, seq: bad.seq, code: ConcordError.Code.invalidEvent.rawValue,
                    message: "this node holds event \(bad.id), stored by an older release, whose \(bad.rangeViolation!); no peer would take it, so this origin's events from it on are not sent (concord verify lists it)"))
                pending.removeFirst()
                continue
            }
            guard events + runEvents.count <= budget.maxEvents, bytes + runBytes <= budget.maxBytes else {
                more = true
                return nil
            }
            events += runEvents.count
            bytes += runBytes
            keyed.insert(origin)
            if proofOnly || seal.seq >= vector[origin] {
                pending.removeFirst()
            } else {
                pending[0].after = seal.seq
            }
            return run
        }
        return nil
    }

    /// Every remaining run that fits, as one batch.
    public mutating func batch() async throws -> IngestBatch {
        var batch = IngestBatch()
        while let run = try await next() {
            if let key = run.key { batch.keys.append(key) }
            batch.events += run.events
            batch.seals.append(run.seal)
        }
        return batch
    }
}
