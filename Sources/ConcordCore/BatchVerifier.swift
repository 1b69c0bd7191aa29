/// What a store holds of one origin: as much as verifying a batch of its events needs.
public struct OriginState: Sendable, Equatable {
    /// The highest seq held (0 when none), and that event's hash and clock stamp.
    public var head: UInt64
    public var headHash: EventHash
    public var headHLC: HLCTimestamp
    /// The key pinned for the origin, when one is recorded.
    public var key: OriginKey?
    /// The held events' hashes at the seqs the batch names (its events' and seals' seqs) at or
    /// below `head`.
    public var heldHashes: [UInt64: EventHash]
    /// Whether this node's trust policy accepts the origin's events at all.
    public var trusted: Bool
    /// For an origin not yet held: whether the store has room for one more (`EventLimits.maxReceivedOrigins`).
    public var roomForNewOrigin: Bool

    public init(
        head: UInt64 = 0, headHash: EventHash = .genesis, headHLC: HLCTimestamp = .zero, key: OriginKey? = nil,
        heldHashes: [UInt64: EventHash] = [:], trusted: Bool = true, roomForNewOrigin: Bool = true
    ) {
        self.head = head
        self.headHash = headHash
        self.headHLC = headHLC
        self.key = key
        self.heldHashes = heldHashes
        self.trusted = trusted
        self.roomForNewOrigin = roomForNewOrigin
    }
}

/// One origin's part of a batch once verified: what to store.
public struct OriginPlan: Sendable {
    public var origin: OriginID
    /// The key to record (first sight of the origin), if any.
    public var newKey: OriginKey?
    /// New events, in seq order, continuing the held head.
    public var events: [Event]
    /// Seals to store (the held ones among them are stored again harmlessly: `INSERT OR IGNORE`).
    public var seals: [Seal]
    /// Offered events this node already holds, byte for byte.
    public var alreadyHeld: Int
    /// Held format-2 events offered with an opening that matches their commitment: the store
    /// keeps each opening it lacks (one it destroyed by erasure stays destroyed).
    public var openings: [Event] = []
}

/// Why one origin's part of a batch was not stored. The rest of the batch is unaffected.
public struct OriginRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var origin: OriginID
    public var code: ConcordError.Code
    public var message: String
    /// For a fork: the offered side, signed by the origin (kept as evidence).
    public var proof: ForkProof?

    public init(origin: OriginID, code: ConcordError.Code, message: String, proof: ForkProof? = nil) {
        self.origin = origin
        self.code = code
        self.message = message
        self.proof = proof
    }

    public var error: ConcordError { ConcordError(code, message) }
    public var description: String { "origin \(origin): \(message) (\(code))" }

    public static func == (lhs: OriginRefusal, rhs: OriginRefusal) -> Bool {
        lhs.origin == rhs.origin && lhs.code == rhs.code && lhs.message == rhs.message && lhs.proof == rhs.proof
    }
}

/// The rules every node applies to events written elsewhere, one origin at a time, as a pure
/// function of the batch and what the store holds: so every backend accepts and refuses alike.
///
/// For each origin: the node's trust policy must accept it; a key must be pinned or offered, and
/// an offered key must hash to the origin id; the events must run on consecutively by seq, those
/// at or below the held head identical to the held ones, the rest continuing the head's hash
/// chain with each hash matching its content; clock stamps never decrease along the seqs and are
/// not more than `EventLimits.maxClockAheadMillis` ahead of this node's clock; every seal must
/// verify and name an event held or offered; the last new event must be sealed; and no run
/// between seals may be longer than `EventLimits.maxEventsPerSeal` events or
/// `EventLimits.maxRunLineBytes` bytes. A different event signed by the origin at a held seq is
/// a fork: refused, with its proof.
public struct BatchVerifier: Sendable {
    /// This node's wall clock, ms.
    public let now: Int64

    public init(now: Int64) {
        self.now = now
    }

    /// A batch's events, seals and keys by origin; events sorted by seq.
    public static func byOrigin(_ batch: IngestBatch) -> [OriginID: (events: [Event], seals: [Seal], keys: [OriginKey])] {
        var parts: [OriginID: (events: [Event], seals: [Seal], keys: [OriginKey])] = [:]
        for event in batch.events { parts[event.origin, default: ([], [], [])].events.append(event) }
        for seal in batch.seals { parts[seal.origin, default: ([], [], [])].seals.append(seal) }
        for key in batch.keys where parts[key.origin] != nil { parts[key.origin]!.keys.append(key) }
        for origin in parts.keys where !parts[origin]!.events.isSorted(by: { $0.seq < $1.seq }) {
            parts[origin]!.events.sort { $0.seq < $1.seq }
        }
        return parts
    }

    /// A batch's parts, one an origin, in origin order: the order every backend gathers state
    /// (and PostgreSQL takes its origin locks) in, and the order `verify(_:states:originsHeld:)`
    /// judges them in.
    public typealias Part = (origin: OriginID, events: [Event], seals: [Seal], keys: [OriginKey])

    public static func parts(of batch: IngestBatch) -> [Part] {
        byOrigin(batch).sorted { $0.key < $1.key }.map { ($0.key, $0.value.events, $0.value.seals, $0.value.keys) }
    }

    /// What a batch comes to once each origin's part is judged against what the store reported
    /// of it (`states`, by origin; a missing entry: nothing held, trusted): the plans to store,
    /// in origin order, and the refusals (a fork's with its proof). `originsHeld` is how many
    /// origins the store holds, so that new ones stop at `EventLimits.maxReceivedOrigins`.
    public func verify(_ parts: [Part], states: [OriginID: OriginState], originsHeld: Int) -> (plans: [OriginPlan], refused: [OriginRefusal]) {
        var plans: [OriginPlan] = []
        var refused: [OriginRefusal] = []
        var origins = originsHeld
        for part in parts {
            var state = states[part.origin] ?? OriginState()
            state.roomForNewOrigin = origins < EventLimits.maxReceivedOrigins
            switch verify(origin: part.origin, events: part.events, seals: part.seals, offeredKeys: part.keys, state: state) {
            case .success(let plan):
                if plan.newKey != nil { origins += 1 }
                plans.append(plan)
            case .failure(let refusal):
                refused.append(refusal)
            }
        }
        return (plans, refused)
    }

    /// The seqs at or below `head` whose held hashes `verify` needs.
    public static func seqsToLookUp(events: [Event], seals: [Seal], head: UInt64) -> [UInt64] {
        (events.lazy.map(\.seq) + seals.lazy.map(\.seq)).filter { $0 <= head }
    }

    /// Verifies one origin's events (sorted by seq), seals and offered keys against what is held.
    public func verify(
        origin: OriginID, events: [Event], seals: [Seal], offeredKeys: [OriginKey], state: OriginState
    ) -> Result<OriginPlan, OriginRefusal> {
        func refuse(_ code: ConcordError.Code, _ message: String, proof: ForkProof? = nil) -> Result<OriginPlan, OriginRefusal> {
            .failure(OriginRefusal(origin: origin, code: code, message: message, proof: proof))
        }
        guard !events.isEmpty || !seals.isEmpty else {
            return .success(OriginPlan(origin: origin, newKey: nil, events: [], seals: [], alreadyHeld: 0))
        }
        guard state.trusted else {
            return refuse(.untrustedOrigin, "origin \(origin) is not on this node's roster and the node is in strict trust mode; nothing of it was stored. If it is a partner's node, add it: concord trust add \(origin) --label NAME")
        }
        if let impostor = offeredKeys.first(where: { !$0.keyMatchesOrigin }) {
            return refuse(.invalidEvent, "the public key offered for origin \(impostor.origin) does not hash to that origin")
        }
        guard let key = state.key ?? offeredKeys.first else {
            return refuse(.invalidEvent, "no public key for origin \(origin); the batch must carry it")
        }
        guard state.key != nil || state.roomForNewOrigin else {
            return refuse(.tooManyOrigins, "this node already holds \(EventLimits.maxReceivedOrigins) origins, the most a store takes from others; origin \(origin) is new, and its events are refused")
        }
        let newKey = state.key == nil ? key : nil

        // The events must run on one seq at a time…
        for (previous, event) in zip(events, events.dropFirst()) where event.seq != previous.seq + 1 {
            return refuse(.invalidEvent, event.seq == previous.seq
                ? "event \(event.id) is offered twice in one batch"
                : "gap in origin \(origin): seq \(event.seq) offered after seq \(previous.seq)")
        }
        // …and those at or below the head must be held as they are.
        var alreadyHeld = 0
        var openings: [Event] = []
        var firstNew = events.endIndex
        for (index, event) in events.enumerated() {
            if event.seq > state.head {
                firstNew = index
                break
            }
            guard let held = state.heldHashes[event.seq] else {
                return refuse(.invalidEvent, "event \(event.id) is at or below the held head of origin \(origin) but not held: the store is inconsistent")
            }
            if held == event.hash {
                alreadyHeld += 1
                if event.commitment != nil, event.disclosure == .full {
                    // The line's header must be the held event's too: its stream, among others,
                    // decides what is refolded.
                    guard event.computeHash() == event.hash, event.openingMatchesCommitment else {
                        return refuse(.invalidEvent, "event \(event.id) does not match its hash: its opening (data, actor or salt) differs from what its commitment names")
                    }
                    openings.append(event)
                }
                continue
            }
            // A different event at a held seq: a fork, if the origin signed it.
            return forkOrInvalid(origin, at: event.seq, held: held, offered: Array(events[index...]), seals: seals, key: key)
        }
        let new = Array(events[firstNew...])
        if let first = new.first {
            guard first.seq == state.head + 1 else {
                return refuse(.invalidEvent, "gap in origin \(origin): seq \(first.seq) offered after seq \(state.head)")
            }
            if first.prevHash != state.headHash, first.computeHash() == first.hash {
                // It does not continue the held chain: a fork at the head, if the origin signed it.
                return forkOrInvalid(origin, at: state.head, held: state.headHash, offered: new, seals: seals, key: key)
            }
        }

        // The new events: each hash, link and clock stamp.
        var previousHash = state.headHash
        var previousHLC = state.head > 0 ? state.headHLC : HLCTimestamp.zero
        let aheadLimit = now > EventLimits.hlcWallRange.upperBound - EventLimits.maxClockAheadMillis
            ? EventLimits.hlcWallRange.upperBound : now + EventLimits.maxClockAheadMillis
        for event in new {
            guard event.computeHash() == event.hash else {
                return refuse(.invalidEvent, "event \(event.id) does not match its hash: its content was altered")
            }
            guard event.prevHash == previousHash else {
                return refuse(.invalidEvent, "event \(event.id) does not link to the hash of seq \(event.seq - 1)")
            }
            guard event.openingMatchesCommitment else {
                return refuse(.invalidEvent, "event \(event.id) does not match its hash: its opening (data, actor or salt) differs from what its commitment names")
            }
            do {
                _ = try Erasure.recorded(by: event)
            } catch let error as ConcordError {
                return refuse(error.code, error.message)
            } catch {
                return refuse(.invalidEvent, "\(error)")
            }
            guard event.hlc >= previousHLC else {
                return refuse(.invalidEvent, "event \(event.id) is stamped \(event.hlc), before seq \(event.seq - 1) of its origin (\(previousHLC)): an origin's clock never runs back")
            }
            guard event.hlc.wallMillis <= aheadLimit else {
                return refuse(.clockAhead, "event \(event.id) is stamped \(event.hlc), more than \(EventLimits.maxClockAheadMillis / 60_000) minutes ahead of this node's clock (\(Timestamp.iso8601(millis: now))); it is refused until this node's clock catches up, so that it cannot drag this node's clock with it")
            }
            previousHash = event.hash
            previousHLC = event.hlc
        }

        // Seals: each must verify and name an event held or offered here.
        var offeredHashes: [UInt64: EventHash] = [:]
        for event in events { offeredHashes[event.seq] = event.hash }
        var sealed: Set<UInt64> = []
        for seal in seals {
            guard let hash = offeredHashes[seal.seq] ?? state.heldHashes[seal.seq] else {
                return refuse(.invalidEvent, "a seal names event \(origin):\(seal.seq), which is neither held here nor in the batch")
            }
            guard seal.hash == hash, key.verify(seal) else {
                return refuse(.invalidEvent, "the seal of event \(origin):\(seal.seq) does not verify with the origin's key")
            }
            sealed.insert(seal.seq)
        }
        if let last = new.last, !sealed.contains(last.seq) {
            return refuse(.invalidEvent, "no seal covers origin \(origin) up to seq \(last.seq); unsigned events are refused")
        }
        // Every run between seals must fit any peer's batch (the held head ends a sealed run).
        var runEvents = 0
        var runBytes = 0
        for event in new {
            runEvents += 1
            runBytes += event.exchangeLineBytes
            guard runEvents <= EventLimits.maxEventsPerSeal, runBytes <= EventLimits.maxRunLineBytes else {
                return refuse(.invalidEvent, "origin \(origin) seals its chain only after more than \(EventLimits.maxEventsPerSeal) events or \(EventLimits.maxRunLineBytes) bytes (at seq \(event.seq)); such a run could not be sent on to every peer")
            }
            if sealed.contains(event.seq) {
                runEvents = 0
                runBytes = 0
            }
        }
        return .success(OriginPlan(origin: origin, newKey: newKey, events: new, seals: seals, alreadyHeld: alreadyHeld, openings: openings))
    }

    /// Whether a late opening (sent apart from any run: `POST /v1/openings/…`) may be stored: the
    /// event must hash to its stated hash, be held here with that hash (as a stub), and its opening
    /// must match its commitment. Nil when it may; otherwise why not.
    public static func lateOpeningProblem(_ event: Event, heldHash: EventHash?) -> String? {
        guard event.commitment != nil, event.disclosure == .full else { return "event \(event.id) carries no opening" }
        guard let heldHash else { return "event \(event.id) is not held here" }
        guard event.computeHash() == event.hash, heldHash == event.hash else { return "event \(event.id) differs from the one held here" }
        guard event.openingMatchesCommitment else { return "event \(event.id)'s opening does not match its commitment" }
        return nil
    }

    /// The offered run from a seq where it differs from what is held: proof of a fork when it is
    /// consecutive, hashes and links, and ends on a seal of the origin's key; bad input otherwise.
    private func forkOrInvalid(
        _ origin: OriginID, at seq: UInt64, held: EventHash, offered: [Event], seals: [Seal], key: OriginKey
    ) -> Result<OriginPlan, OriginRefusal> {
        let sealsBySeq = Dictionary(seals.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
        var run: [Event] = []
        for event in offered {
            guard event.computeHash() == event.hash else {
                return .failure(OriginRefusal(origin: origin, code: .invalidEvent, message: "event \(event.id) does not match its hash: its content was altered"))
            }
            if let previous = run.last, event.prevHash != previous.hash {
                return .failure(OriginRefusal(origin: origin, code: .invalidEvent, message: "event \(event.id) does not link to the hash of seq \(event.seq - 1)"))
            }
            run.append(event)
            if let seal = sealsBySeq[event.seq], seal.hash == event.hash, key.verify(seal) {
                let proof = ForkProof(origin: origin, seq: seq, heldHash: held, events: run, seal: seal)
                return .failure(OriginRefusal(
                    origin: origin, code: .fork,
                    message: "fork: origin \(origin) signed two different histories (seq \(seq) is held here with another hash); its events from this peer are refused and the offered history is kept as evidence (concord status)",
                    proof: proof
                ))
            }
        }
        let what = offered.first.map { $0.seq == seq ? "event \($0.id) differs from the one held" : "event \($0.id) does not link to the hash of seq \(seq)" } ?? "the batch"
        return .failure(OriginRefusal(origin: origin, code: .invalidEvent, message: "\(what), and no seal of the origin's key covers it: refused (not evidence of a fork)"))
    }
}

extension Array {
    fileprivate func isSorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> Bool {
        zip(self, dropFirst()).allSatisfy { !areInIncreasingOrder($1, $0) }
    }
}
