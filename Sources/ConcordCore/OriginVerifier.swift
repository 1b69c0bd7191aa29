/// Checks one origin's events and seals, fed in seq order. A pure state machine: no I/O, so every
/// rule is tested directly and every store verifies alike.
///
/// Rules: each event's stored hash equals the hash of its canonical bytes; its `prevHash` equals
/// the previous event's hash; seqs run 1, 2, 3… with no gap; local positions increase with seq;
/// every seal's signature verifies with the origin's key and matches the event it names; the last
/// event is covered by a seal; no seal names an event beyond the last. Erasures: an event whose
/// opening is erased must be named by a valid erasure of its origin held here (a later event of
/// the same origin, `Erasure`), and every event a held erasure names must be erased, unless it
/// keeps its opening by rule (a format-1 event, an erasure): what the log signs decides, never a
/// column beside it.
public struct OriginVerifier: Sendable {
    public let origin: OriginID
    private let key: OriginKey?
    private var sealsBySeq: [UInt64: Seal]
    private let highestSeal: UInt64
    private var expectedSeq: UInt64 = 1
    private var previousHash: EventHash? = .genesis
    private var previousPosition: Int64 = .min
    public private(set) var faults: [VerificationFault] = []
    /// What is sound but needs an operator: events outside today's ranges (`out-of-range`).
    public private(set) var notices: [VerificationFault] = []
    public private(set) var eventsChecked: UInt64 = 0
    public private(set) var sealsChecked: UInt64 = 0
    /// Bit `seq` is set when that event holds (or withholds) an opening an erasure must destroy:
    /// a format-2 event that is not an erasure and is not erased. One bit an event.
    private var erasable = BitSet()
    /// Erased events no held erasure of this origin has named (an erasure of the same origin
    /// always comes later in it; one of a later incarnation is in another origin's log).
    private var erasedUnnamed: Set<UInt64> = []
    /// Events of other origins (earlier incarnations, linked by handovers) that this origin's
    /// erasures name: each with the erasure naming it.
    private var foreignTargets: [(target: EventID, erasure: EventID)] = []

    public init(origin: OriginID, key: OriginKey?, seals: [Seal]) {
        self.origin = origin
        self.key = key
        self.sealsBySeq = [:]
        for seal in seals { sealsBySeq[seal.seq] = seal }
        self.highestSeal = seals.map(\.seq).max() ?? 0
        if let key {
            if !key.keyMatchesOrigin {
                fault(0, .keyMismatch, "the recorded public key does not hash to this origin id")
            }
        } else {
            fault(0, .unknownOrigin, "no public key is recorded for this origin")
        }
    }

    private mutating func fault(_ seq: UInt64, _ kind: VerificationFault.Kind, _ detail: String) {
        faults.append(VerificationFault(origin: origin, seq: seq, kind: kind, detail: detail))
    }

    /// Checks the next stored event of this origin (events must come in seq order).
    public mutating func check(_ stored: StoredEvent) {
        let event = stored.event
        eventsChecked += 1
        if event.seq != expectedSeq {
            if event.seq > expectedSeq {
                let missing = expectedSeq == event.seq - 1 ? "\(expectedSeq)" : "\(expectedSeq)…\(event.seq - 1)"
                fault(expectedSeq, .missingEvent, "seq \(missing) absent before seq \(event.seq): events were deleted")
            } else {
                fault(event.seq, .outOfOrder, "seq \(event.seq) appears again after seq \(expectedSeq - 1)")
            }
            // The link to an unknown predecessor cannot be judged; the next event starts afresh.
            previousHash = nil
        }
        if stored.position <= previousPosition {
            fault(event.seq, .outOfOrder, "stored at position \(stored.position), before the origin's previous event: events were swapped or moved")
        }
        let recomputed = event.computeHash()
        if recomputed != event.hash {
            fault(event.seq, .hashMismatch, "the event's content no longer hashes to its stored hash: it was changed after it was written")
        } else if !event.openingMatchesCommitment {
            fault(event.seq, .hashMismatch, "the event's opening (data, actor or salt) no longer matches its commitment: it was changed after it was written")
        }
        if let previousHash, event.prevHash != previousHash {
            fault(event.seq, .chainBroken, "prev_hash does not match the hash of seq \(event.seq &- 1)")
        }
        if let violation = event.rangeViolation {
            notices.append(VerificationFault(origin: origin, seq: event.seq, kind: .outOfRange, detail: "\(violation): stored by an older release; it cannot be sent to any peer"))
        }
        checkErasure(event)
        if let seal = sealsBySeq.removeValue(forKey: event.seq) {
            checkSeal(seal, against: event.hash)
        }
        expectedSeq = event.seq &+ 1
        previousHash = event.hash
        previousPosition = stored.position
    }

    /// Whether the event's opening was destroyed only by a held erasure of its origin, and
    /// whether an erasure's targets are all erased.
    private mutating func checkErasure(_ event: Event) {
        let isErasure = event.type.rawValue == Erasure.eventType
        if event.disclosure == .erased {
            if event.commitment == nil || isErasure {
                fault(event.seq, .erasedWithoutErasure, "its opening was destroyed, but \(isErasure ? "an erasure" : "a format-1 event") keeps its opening by rule: no erasure may destroy it")
            } else {
                erasedUnnamed.insert(event.seq)
            }
        } else if event.commitment != nil, !isErasure, event.seq <= eventsChecked {
            // (A gap-free log's seq is never above the count of its events read so far; past a
            // gap, already a fault, the bit is not kept, so a forged seq cannot grow the set.)
            erasable.insert(event.seq)
        }
        // An erasure that does not parse names nothing (no node applies it): the events it would
        // name, if erased, are then named by none.
        guard isErasure, let erasure = try? Erasure.recorded(by: event) else { return }
        for target in erasure.targets {
            guard target.origin == origin else {
                foreignTargets.append((target, event.id))
                continue
            }
            erasedUnnamed.remove(target.seq)
            if erasable.contains(target.seq) {
                fault(target.seq, .erasureNotApplied, "erasure \(event.id) names it, but its opening is still held here")
            }
        }
    }

    /// What the erasure rule needs to know across origins, once an origin is read
    /// (`ErasureAudit`): its erased events no erasure of its own names, which of its events still
    /// hold an opening an erasure must destroy, and what its erasures name in other origins.
    public struct ErasureState: Sendable {
        public let origin: OriginID
        let erasedUnnamed: Set<UInt64>
        let erasable: BitSet
        let foreignTargets: [(target: EventID, erasure: EventID)]
    }

    public var erasureState: ErasureState {
        ErasureState(origin: origin, erasedUnnamed: erasedUnnamed, erasable: erasable, foreignTargets: foreignTargets)
    }

    private mutating func checkSeal(_ seal: Seal, against hash: EventHash?) {
        sealsChecked += 1
        if let hash, seal.hash != hash {
            fault(seal.seq, .sealMismatch, "the seal signs a different hash than the stored event's")
        }
        if let key, !key.verify(seal) {
            fault(seal.seq, .badSignature, "the seal's signature does not verify with the origin's key")
        }
    }

    /// Finishes the origin: seals beyond the last event, events after the last seal, and (unless
    /// a caller that reads every origin resolves them across origins with `erasureState`) the
    /// erasure rule within this origin alone.
    public mutating func finish(resolvingErasures: Bool = true) -> [VerificationFault] {
        let lastSeq = expectedSeq &- 1
        for seal in sealsBySeq.values.sorted(by: { $0.seq < $1.seq }) {
            if seal.seq > lastSeq {
                fault(seal.seq, .truncated, "a seal covers seq \(seal.seq) but the log ends at seq \(lastSeq): events were removed from the tail")
            }
            checkSeal(seal, against: nil)
        }
        sealsBySeq.removeAll()
        if resolvingErasures, !erasedUnnamed.isEmpty || !foreignTargets.isEmpty { faults += ErasureAudit.faults([erasureState]) }
        if highestSeal < lastSeq {
            fault(highestSeal &+ 1, .unsealed, "seq \(highestSeal &+ 1)…\(lastSeq) are covered by no seal")
        }
        return faults.sorted { ($0.seq, $0.kind.rank) < ($1.seq, $1.kind.rank) }
    }
}

/// A set of small non-negative integers, one bit each (seqs of one origin).
struct BitSet: Sendable {
    private var words: [UInt64] = []

    mutating func insert(_ value: UInt64) {
        let word = Int(value >> 6)
        if word >= words.count {
            // Room for 4096 seqs at first, then doubling: one allocation for most origins' batches.
            if words.isEmpty { words.reserveCapacity(64) }
            words.append(contentsOf: repeatElement(0, count: word - words.count + 1))
        }
        words[word] |= 1 << (value & 63)
    }

    func contains(_ value: UInt64) -> Bool {
        let word = Int(clamping: value >> 6)
        return word < words.count && words[word] & (1 << (value & 63)) != 0
    }
}

/// The erasure rule across a whole log: an erased event must be named by a held erasure of its
/// origin or of a later incarnation linked to it by handovers (`Erasure`); every event such an
/// erasure names must be erased, unless it keeps its opening by rule.
public enum ErasureAudit {
    public static func faults(_ states: [OriginVerifier.ErasureState]) -> [VerificationFault] {
        var byOrigin: [OriginID: OriginVerifier.ErasureState] = [:]
        for state in states { byOrigin[state.origin] = state }
        var named: [OriginID: Set<UInt64>] = [:]
        var faults: [VerificationFault] = []
        for state in states {
            for (target, erasure) in state.foreignTargets {
                named[target.origin, default: []].insert(target.seq)
                if byOrigin[target.origin]?.erasable.contains(target.seq) == true {
                    faults.append(VerificationFault(origin: target.origin, seq: target.seq, kind: .erasureNotApplied, detail: "erasure \(erasure) (of a later incarnation of its node) names it, but its opening is still held here"))
                }
            }
        }
        for state in states {
            for seq in state.erasedUnnamed.subtracting(named[state.origin] ?? []).sorted() {
                faults.append(VerificationFault(
                    origin: state.origin, seq: seq, kind: .erasedWithoutErasure,
                    detail: "its opening was destroyed, but no erasure held here names it: only the recording node (or a later incarnation it handed over to) may erase, by a signed erasure event"
                ))
            }
        }
        return faults
    }
}
