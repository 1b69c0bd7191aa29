import ConcordCore
import Testing

/// `BatchVerifier`: every rule a node applies to another origin's events, without a store.
struct BatchVerifierTests {
    static let now: Int64 = 1_700_000_000_000
    let verifier = BatchVerifier(now: Self.now)

    /// An origin's events and seals, made by the writer's own rules.
    struct Origin {
        let key = NodeKey()
        var chain: OriginChain
        var events: [Event] = []
        var seals: [Seal] = []

        init() {
            chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        }

        @discardableResult
        mutating func write(_ count: Int, wall: Int64 = BatchVerifierTests.now, sealEvery: Int? = nil, note: String = "note", sealAtEnd: Bool = true) throws -> [Event] {
            var written: [Event] = []
            for index in 1...count {
                let draft = try EventDraft(stream: StreamID("case:V-1"), type: EventType("case.note-added"), data: .object(["note": .string("\(note) \(index)")]), actor: "tester", occurredAt: 0)
                let event = chain.append(draft, hlc: HLCTimestamp(wallMillis: wall, counter: UInt16(events.count % 60_000)), recordedAt: wall, prev: [])
                events.append(event)
                written.append(event)
                if let sealEvery, index % sealEvery == 0 { seals.append(chain.sealHead()) }
            }
            if sealAtEnd, seals.last?.seq != chain.lastSeq { seals.append(chain.sealHead()) }
            return written
        }

        var originKey: OriginKey { key.originKey }
        var origin: OriginID { key.origin }

        /// What a store holding the first `count` events would report.
        func held(_ count: Int, lookingUp seqs: [UInt64] = []) -> OriginState {
            guard count > 0 else { return OriginState(key: nil) }
            let head = events[count - 1]
            var hashes: [UInt64: EventHash] = [:]
            for seq in seqs where seq >= 1 && seq <= UInt64(count) { hashes[seq] = events[Int(seq) - 1].hash }
            return OriginState(head: head.seq, headHash: head.hash, headHLC: head.hlc, key: originKey, heldHashes: hashes)
        }
    }

    func verify(_ origin: Origin, events: [Event]? = nil, seals: [Seal]? = nil, keys: [OriginKey]? = nil, state: OriginState? = nil) -> Result<OriginPlan, OriginRefusal> {
        let events = events ?? origin.events
        let seals = seals ?? origin.seals
        let state = state ?? origin.held(0)
        var looked = state
        for seq in BatchVerifier.seqsToLookUp(events: events, seals: seals, head: state.head) where looked.heldHashes[seq] == nil {
            if seq >= 1, Int(seq) <= origin.events.count { looked.heldHashes[seq] = origin.events[Int(seq) - 1].hash }
        }
        return verifier.verify(origin: origin.origin, events: events, seals: seals, offeredKeys: keys ?? [origin.originKey], state: looked)
    }

    func refusal(_ result: Result<OriginPlan, OriginRefusal>) -> OriginRefusal? {
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    @Test func aValidFirstBatchIsStoredWithItsKey() throws {
        var origin = Origin()
        try origin.write(5)
        guard case .success(let plan) = verify(origin) else {
            Issue.record("a valid batch must verify")
            return
        }
        #expect(plan.events == origin.events && plan.seals == origin.seals && plan.newKey == origin.originKey && plan.alreadyHeld == 0)
    }

    @Test func heldEventsAreSkippedAndTheRestContinuesTheHead() throws {
        var origin = Origin()
        try origin.write(3)
        try origin.write(2)
        guard case .success(let plan) = verify(origin, state: origin.held(3)) else {
            Issue.record("continuing the head must verify")
            return
        }
        #expect(plan.alreadyHeld == 3 && plan.events.map(\.seq) == [4, 5] && plan.newKey == nil)
    }

    @Test func everyRuleRefusesWithItsOwnReason() throws {
        var origin = Origin()
        try origin.write(4)
        let events = origin.events
        func expect(_ result: Result<OriginPlan, OriginRefusal>, _ code: ConcordError.Code, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let refused = refusal(result)
            #expect(refused?.code == code, "\(String(describing: refused))", sourceLocation: sourceLocation)
            #expect(refused?.message.contains(text) == true, "\(String(describing: refused))", sourceLocation: sourceLocation)
        }
        var altered = events
        altered[2].payload = #"{"note":"changed"}"#
        expect(verify(origin, events: altered), .invalidEvent, "does not match its hash")
        expect(verify(origin, events: [events[0], events[2], events[3]]), .invalidEvent, "gap in origin")
        expect(verify(origin, events: [events[0], events[0], events[1]]), .invalidEvent, "offered twice")
        expect(verify(origin, events: Array(events.dropFirst())), .invalidEvent, "gap in origin")
        expect(verify(origin, seals: []), .invalidEvent, "no seal covers")
        expect(verify(origin, keys: []), .invalidEvent, "no public key")
        expect(verify(origin, keys: [OriginKey(origin: origin.origin, publicKey: NodeKey().publicKey)]), .invalidEvent, "does not hash to that origin")
        var forged = origin.seals[0]
        forged.signature = NodeKey().sign(forged.signedBytes)
        expect(verify(origin, seals: [forged]), .invalidEvent, "does not verify")
        expect(verify(origin, seals: origin.seals + [Seal(origin: origin.origin, seq: 99, hash: events[0].hash, signature: [])]), .invalidEvent, "neither held here nor in the batch")
        var untrusted = origin.held(0)
        untrusted.trusted = false
        expect(verify(origin, state: untrusted), .untrustedOrigin, "concord trust add")
    }

    @Test func clocksNeverRunBackAlongAnOriginNorFarAheadOfTheReceiver() throws {
        var backwards = Origin()
        try backwards.write(1, wall: Self.now)
        try backwards.write(1, wall: Self.now - 1000)
        #expect(refusal(verify(backwards))?.message.contains("an origin's clock never runs back") == true)
        // Against the held head too (a later batch).
        #expect(refusal(verify(backwards, events: [backwards.events[1]], state: backwards.held(1)))?.message.contains("never runs back") == true)

        var ahead = Origin()
        try ahead.write(1, wall: Self.now + EventLimits.maxClockAheadMillis)
        #expect(refusal(verify(ahead)) == nil, "exactly at the bound is accepted")
        var further = Origin()
        try further.write(1, wall: Self.now + EventLimits.maxClockAheadMillis + 1)
        #expect(refusal(verify(further))?.code == .clockAhead)
        var farthest = Origin()
        try farthest.write(1, wall: EventLimits.hlcWallRange.upperBound)
        #expect(refusal(verify(farthest))?.code == .clockAhead)
    }

    @Test func runsBetweenSealsAreBoundedByCountAndBytes() throws {
        var long = Origin()
        try long.write(EventLimits.maxEventsPerSeal + 1)
        #expect(refusal(verify(long))?.message.contains("seals its chain only after more than") == true)
        var sealed = Origin()
        try sealed.write(EventLimits.maxEventsPerSeal + 1, sealEvery: EventLimits.maxEventsPerSeal)
        #expect(refusal(verify(sealed)) == nil)
        // Bytes: five events of almost 1 MiB each, sealed only at the end, pass 4 MiB.
        var heavy = Origin()
        try heavy.write(5, note: String(repeating: "x", count: EventLimits.maxPayloadBytes - 100))
        #expect(refusal(verify(heavy))?.message.contains("\(EventLimits.maxRunLineBytes) bytes") == true)
    }

    @Test func aDifferentSignedHistoryAtAHeldSeqIsAForkWithItsProof() throws {
        var held = Origin()
        try held.write(3)
        // The same key writes another third event (a cloned node or a stolen key).
        var other = held
        other.events.removeLast()
        other.seals = []
        other.chain = OriginChain(key: held.key, lastSeq: 2, lastHash: held.events[1].hash)
        try other.write(2, note: "other")
        let state = held.held(3, lookingUp: [3, 4])
        let result = verifier.verify(origin: held.origin, events: Array(other.events[2...]), seals: other.seals, offeredKeys: [held.originKey], state: state)
        let refused = try #require(refusal(result))
        #expect(refused.code == .fork)
        let proof = try #require(refused.proof)
        #expect(proof.seq == 3 && proof.heldHash == held.events[2].hash && proof.offeredHash == other.events[2].hash)
        #expect(proof.verifies(with: held.originKey))
        // Not by the origin's key, or with an altered event: not evidence.
        #expect(!proof.verifies(with: NodeKey().originKey))
        var tampered = proof
        tampered.events[0].payload = #"{"note":"x"}"#
        #expect(!tampered.verifies(with: held.originKey))
        // Without a seal the same difference is just bad input, and nothing is kept.
        let unsealed = verifier.verify(origin: held.origin, events: Array(other.events[2...]), seals: [], offeredKeys: [], state: state)
        #expect(refusal(unsealed)?.code == .invalidEvent && refusal(unsealed)?.proof == nil)
    }

    @Test func aSignedRunThatDoesNotContinueTheHeldHeadIsAForkAtTheHead() throws {
        var held = Origin()
        try held.write(3)
        var other = held
        other.events.removeLast()
        other.seals = []
        other.chain = OriginChain(key: held.key, lastSeq: 2, lastHash: held.events[1].hash)
        try other.write(3, note: "other")
        // The receiver holds 1…3; the other history's 4…5 are offered (they continue its vector).
        let result = verifier.verify(origin: held.origin, events: Array(other.events[3...]), seals: other.seals, offeredKeys: [], state: held.held(3))
        let proof = try #require(refusal(result)?.proof)
        #expect(proof.seq == 3 && proof.offeredHash == other.events[2].hash && proof.verifies(with: held.originKey))
    }

    @Test func theBatchIsSplitByOriginAndKeysGoOnlyWithTheirOrigin() throws {
        var a = Origin(), b = Origin()
        try a.write(2)
        try b.write(2)
        let stranger = NodeKey().originKey
        let parts = BatchVerifier.byOrigin(IngestBatch(keys: [a.originKey, b.originKey, stranger], events: b.events.reversed() + a.events, seals: a.seals + b.seals))
        #expect(Set(parts.keys) == [a.origin, b.origin])
        #expect(parts[b.origin]?.events.map(\.seq) == [1, 2])
        #expect(parts[a.origin]?.keys == [a.originKey])
    }

    /// A store at `EventLimits.maxOrigins` refuses a new origin (every vector names every origin,
    /// and past the cap a vector would not fit a request) but keeps taking the origins it holds.
    @Test func aStoreFullOfOriginsRefusesANewOneButNotAHeldOne() throws {
        var origin = Origin()
        try origin.write(3)
        var full = origin.held(0)
        full.roomForNewOrigin = false
        #expect(refusal(verify(origin, state: full))?.code == .tooManyOrigins)
        var held = origin.held(1)
        held.roomForNewOrigin = false
        guard case .success(let plan) = verify(origin, state: held) else {
            Issue.record("an origin already held must still verify when the store is full")
            return
        }
        #expect(plan.events.count == 2 && plan.newKey == nil)
    }
}
