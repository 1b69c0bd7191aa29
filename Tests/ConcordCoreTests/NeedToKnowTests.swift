import ConcordCore
import Testing

/// Format 2: commitments, stubs, erasure rules and sharing decisions, without a store.
struct NeedToKnowTests {
    func chain(_ notes: [String], stream: String = "case:NW-1", key: NodeKey = NodeKey()) throws -> (events: [Event], seals: [Seal], key: NodeKey) {
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        var clock = HybridLogicalClock()
        var events: [Event] = []
        for note in notes {
            let draft = try EventDraft(stream: StreamID(stream), type: EventType("case.note-added"), data: .object(["note": .string(note)]), actor: "officer@nw", occurredAt: 1_457_519_400_000)
            events.append(chain.append(draft, hlc: try clock.tick(now: 1_700_000_000_000), recordedAt: 1_700_000_000_000, prev: []))
        }
        return (events, [chain.sealHead()], key)
    }

    @Test func aStubKeepsItsHashAndCarriesNoPartOfItsOpening() throws {
        let event = try chain(["Victim named Alice Northcott"]).events[0]
        #expect(event.format == 2 && event.salt.count == EventLimits.saltBytes && event.openingMatchesCommitment)
        let stub = try #require(event.stub)
        #expect(stub.computeHash() == event.hash && stub.disclosure == .withheld)
        let line = stub.exchangeJSON
        for text in ["Alice", "officer@nw", Hex.encode(event.salt), "\"data\""] { #expect(!line.contains(text), "\(line)") }
        #expect(event.exchangeJSON.contains("Alice"))
        for candidate in [event, stub] {
            #expect(candidate.exchangeLineBytes == candidate.exchangeJSON.utf8.count + 1)
            let decoded = try Event(exchange: try JSONValue(parsing: candidate.exchangeJSON))
            #expect(decoded == candidate)
        }
        // A stub line that smuggles part of an opening is refused.
        let smuggled = line.replacingOccurrences(of: "\"commitment\"", with: "\"actor\":\"x\",\"commitment\"")
        #expect(throws: ConcordError.self) { try Event(exchange: try JSONValue(parsing: smuggled)) }
    }

    @Test func theSaltHidesAShortPayload() throws {
        let events = try chain(["charged", "charged"]).events
        #expect(events[0].commitment != events[1].commitment)
        // The commitment of the bare payload (a guess without the salt) is not the commitment.
        var guess = events[0]
        guess.salt = []
        #expect(guess.computeCommitment() != events[0].commitment)
    }

    @Test func anOpeningThatDoesNotMatchItsCommitmentIsRefused() throws {
        var (events, seals, key) = try chain(["first", "second"])
        let verifier = BatchVerifier(now: 1_700_000_000_000)
        events[1].payload = #"{"note":"rewritten"}"#
        let result = verifier.verify(origin: key.origin, events: events, seals: seals, offeredKeys: [key.originKey], state: OriginState())
        guard case .failure(let refusal) = result else { Issue.record("accepted an altered opening"); return }
        #expect(refusal.code == .invalidEvent && refusal.message.contains("opening"))
    }

    @Test func aHeldStubOfferedWithItsOpeningIsPlannedAsALateOpening() throws {
        let (events, seals, key) = try chain(["first", "second"])
        let state = OriginState(head: 2, headHash: events[1].hash, headHLC: events[1].hlc, key: key.originKey, heldHashes: [1: events[0].hash, 2: events[1].hash])
        let plan = try BatchVerifier(now: 1_700_000_000_000).verify(origin: key.origin, events: events, seals: seals, offeredKeys: [], state: state).get()
        #expect(plan.events.isEmpty && plan.alreadyHeld == 2 && plan.openings.map(\.seq) == [1, 2])
        let stubs = events.map { $0.stub! }
        let none = try BatchVerifier(now: 1_700_000_000_000).verify(origin: key.origin, events: stubs, seals: seals, offeredKeys: [], state: state).get()
        #expect(none.openings.isEmpty)
    }

    func erasureEvent(by key: NodeKey, after events: [Event], naming targets: [EventID], reason: String = "retention review") throws -> Event {
        var chain = OriginChain(key: key, lastSeq: events.last?.seq ?? 0, lastHash: events.last?.hash ?? .genesis)
        // Built by hand, as a hostile origin would: the draft checks nothing about the targets' origin.
        let data = JSONValue.object(["events": .array(targets.map { .string($0.description) }), "reason": .string(reason)])
        let draft = try EventDraft(stream: Erasure.stream(of: key.origin), type: EventType(Erasure.eventType), data: data, actor: "dpo", occurredAt: 0)
        return chain.append(draft, hlc: HLCTimestamp(wallMillis: 1_700_000_000_000, counter: 99), recordedAt: 1_700_000_000_000, prev: [])
    }

    @Test func onlyTheRecordingOriginMayEraseAndEveryNodeDecidesFromTheErasureAlone() throws {
        let (events, _, key) = try chain(["first", "second"])
        let own = try erasureEvent(by: key, after: events, naming: [events[0].id])
        #expect(try Erasure.recorded(by: own)?.targets == [events[0].id])
        let stranger = NodeKey()
        let foreign = try erasureEvent(by: stranger, after: [], naming: [events[0].id])
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: foreign) }
        let later = try erasureEvent(by: key, after: events, naming: [EventID(origin: key.origin, seq: 5)])
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: later) }
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: try erasureEvent(by: key, after: events, naming: [events[0].id], reason: " ")) }
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: try erasureEvent(by: key, after: events, naming: [])) }
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: own.stub!) }
        // The verifier refuses a foreign erasure as it refuses any bad event.
        let result = BatchVerifier(now: 1_700_000_000_000).verify(origin: stranger.origin, events: [foreign], seals: [stranger.seal(seq: 1, hash: foreign.hash)], offeredKeys: [stranger.originKey], state: OriginState())
        guard case .failure(let refusal) = result else { Issue.record("accepted a foreign erasure"); return }
        #expect(refusal.message.contains("no handover it carries links to its own"))
    }

    /// An erasure is recorded on its origin's stream `erasure:ORIGIN` with schema version 1;
    /// anywhere else, or of another version, no node applies it.
    @Test func anErasureElsewhereThanItsOriginsStreamIsRefused() throws {
        let (events, _, key) = try chain(["first"])
        var chain = OriginChain(key: key, lastSeq: events.last!.seq, lastHash: events.last!.hash)
        let data = JSONValue.object(["events": .array([.string(events[0].id.description)]), "reason": .string("retention review")])
        for (stream, version) in [("case:NW-1", UInt32(1)), ("erasure:\(NodeKey().origin.hex)", 1), (Erasure.stream(of: key.origin).rawValue, 2)] {
            let draft = try EventDraft(stream: StreamID(stream), type: EventType(Erasure.eventType), schemaVersion: version, data: data, actor: "dpo", occurredAt: 0)
            let event = chain.append(draft, hlc: HLCTimestamp(wallMillis: 1_700_000_000_000, counter: 9), recordedAt: 1_700_000_000_000, prev: [])
            let error = #expect(throws: ConcordError.self, "\(stream) v\(version)") { try Erasure.recorded(by: event) }
            #expect(error?.message.contains("recorded on its origin's stream") == true)
        }
    }

    func erasureEvent(by key: NodeKey, naming targets: [EventID], handovers: [JSONValue]) throws -> Event {
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        let data = JSONValue.object(["events": .array(targets.sorted().map { .string($0.description) }), "handovers": .array(handovers), "reason": .string("retention review")])
        let draft = try EventDraft(stream: Erasure.stream(of: key.origin), type: EventType(Erasure.eventType), data: data, actor: "dpo", occurredAt: 0)
        return chain.append(draft, hlc: HLCTimestamp(wallMillis: 1_700_000_000_000, counter: 1), recordedAt: 1_700_000_000_000, prev: [])
    }

    /// A store moved with its key starts a new incarnation, whose erasures may name what the
    /// earlier ones recorded through the chain of handovers they carry; nothing else is linked.
    @Test func aLaterIncarnationErasesAnEarlierOnesEventsOnlyThroughSignedHandovers() throws {
        let (first, second, third, stranger) = (NodeKey(), NodeKey(), NodeKey(), NodeKey())
        let one = Handover.sign(by: first, to: second.origin, through: 7), two = Handover.sign(by: second, to: third.origin, through: 2)
        #expect(one.isValid && two.isValid)
        #expect(Handover(json: one.json) == one)
        let target = EventID(origin: first.origin, seq: 7)
        // Two steps: the first incarnation's event, erased by the third.
        let erasure = try Erasure.recorded(by: try erasureEvent(by: third, naming: [target], handovers: [one.json, two.json]))
        #expect(erasure?.targets == [target] && erasure?.handovers.count == 2)
        #expect(Handover.chains(from: [first.origin], to: third.origin, in: [two, one, Handover.sign(by: stranger, to: first.origin, through: 1)]).map(Set.init) == [one, two])
        #expect(Handover.chains(from: [first.origin], to: third.origin, in: [one]) == nil)
        // What the draft writes is what every node reads back.
        let draft = try Erasure(targets: [target], reason: "retention review", handovers: [one, two]).draft(actor: "dpo", occurredAt: 0, origin: third.origin)
        #expect(try JSONValue(parsing: draft.payload)["handovers"] == .array([one.json, two.json]))
        // Refused: a missing link; a handover signed by another key; one to another origin; one
        // that leads nowhere near the erasure; another origin's event with no handover at all.
        let forged = Handover(from: first.originKey, to: second.origin, through: 7, signature: stranger.sign(Handover.signedBytes(from: first.origin, to: second.origin, through: 7)))
        let elsewhere = Handover.sign(by: stranger, to: NodeKey().origin, through: 1)
        // Off the chain: from an origin on it, to one that is not.
        let offChain = Handover.sign(by: first, to: NodeKey().origin, through: 7)
        for (handovers, why) in [
            ([one.json], "no handover"), ([forged.json, two.json], "does not verify"), ([two.json], "no handover"),
            ([one.json, two.json, elsewhere.json], "does not lead"), ([one.json, two.json, offChain.json], "does not lead"), ([JSONValue](), "from 1 to"),
        ] {
            let error = #expect(throws: ConcordError.self) { try Erasure.recorded(by: try erasureEvent(by: third, naming: [target], handovers: handovers)) }
            #expect(error?.message.contains(why) == true, "\(why): \(error?.message ?? "")")
        }
        var tampered = one.json
        if case .object(var fields) = tampered { fields["to"] = .string(third.origin.hex); tampered = .object(fields) }
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: try erasureEvent(by: third, naming: [target], handovers: [tampered])) }
        // Past the seq the earlier key handed over: a copy's original may go on writing as it.
        let later = EventID(origin: first.origin, seq: 8)
        let beyond = #expect(throws: ConcordError.self) { try Erasure.recorded(by: try erasureEvent(by: third, naming: [later], handovers: [one.json, two.json])) }
        #expect(beyond?.message.contains("past seq 7") == true, "\(beyond?.message ?? "")")
        // More handovers than an erasure may carry (each costs a signature check where it is read).
        let many = (0...Erasure.maxHandovers).map { _ in one.json }
        #expect(throws: ConcordError.self) { try Erasure.recorded(by: try erasureEvent(by: third, naming: [target], handovers: many)) }
    }

    /// verify applies the rule across origins: an earlier incarnation's event erased by a later
    /// one's erasure is sound; one erased by nothing, or named and not erased, is a fault.
    @Test func verifyJudgesAnEarlierIncarnationsErasedEventsByTheLaterOnesErasures() throws {
        let (earlierKey, laterKey) = (NodeKey(), NodeKey())
        var (earlier, earlierSeals, _) = try chain(["first", "second", "third"], key: earlierKey)
        let erasure = try erasureEvent(by: laterKey, naming: [earlier[1].id], handovers: [Handover.sign(by: earlierKey, to: laterKey.origin, through: 3).json])
        func faults(_ events: [Event]) -> [String] {
            var states: [OriginVerifier.ErasureState] = []
            var found: [VerificationFault] = []
            for (key, log, seals) in [(earlierKey, events, earlierSeals), (laterKey, [erasure], [laterKey.seal(seq: 1, hash: erasure.hash)])] {
                var verifier = OriginVerifier(origin: key.origin, key: key.originKey, seals: seals)
                for (index, event) in log.enumerated() { verifier.check(StoredEvent(event: event, position: Int64(index + 1), streamVersion: 1)) }
                found += verifier.finish(resolvingErasures: false)
                states.append(verifier.erasureState)
            }
            return (found + ErasureAudit.faults(states)).map { "\($0.origin == earlierKey.origin ? "earlier" : "later") \($0.seq) \($0.kind.rawValue)" }
        }
        #expect(faults(earlier) == ["earlier 2 erasure-not-applied"])
        earlier[1].withholdOpening(as: .erased)
        #expect(faults(earlier) == [])
        earlier[2].withholdOpening(as: .erased)
        #expect(faults(earlier) == ["earlier 3 erased-without-erasure"])
        _ = earlierSeals
    }

    @Test func sharingDecisionsFollowTheirOrder() throws {
        let (events, _, key) = try chain(["note"], stream: "case:NW-1")
        let meeting = try chain(["minutes"], stream: "meeting:M-1").events[0]
        let erasure = try erasureEvent(by: key, after: events, naming: [events[0].id])
        let policy = SharingPolicy(peer: "south", rules: [.kind("meeting")], defaultRule: .full, localStreams: [try StreamID("meeting:M-2")])
        #expect(!policy.decide(events[0]).sendsOpening)
        #expect(policy.decide(meeting).sendsOpening)
        #expect(policy.decide(erasure).sendsOpening)
        #expect(policy.shared(events[0]).disclosure == .withheld && policy.shared(meeting) == meeting)
        #expect(!policy.decide(events[0].stub!).sendsOpening)
        #expect(!policy.decide(stream: try StreamID("meeting:M-2")).sendsOpening)
        let none = SharingPolicy(peer: "east", rules: [], defaultRule: .stubs)
        #expect(!none.decide(meeting).sendsOpening)
        let region = SharingPolicy(peer: "east", rules: [.region("North")], defaultRule: .stubs, resolvedStreams: [try StreamID("case:NW-1"): .region("North")])
        #expect(region.decide(events[0]).sendsOpening && !region.decide(meeting).sendsOpening)
        var v1 = events[0]
        v1.commitment = nil
        #expect(none.decide(v1).sendsOpening)
        for text in ["all", "kind:case", "region:North West", "stream:case:NW-1", "meeting:M-1"] {
            #expect(try ShareSelector(parsing: text).description == text)
        }
        for bad in ["", "kind:people", "colour:red", "region:"] {
            #expect(throws: ConcordError.self) { try ShareSelector(parsing: bad) }
        }
    }
}

/// A fixed format-2 event and its commitment and hash: the test vector in docs/storage-format.md,
/// so that another implementation can check its encoding, and this one cannot drift.
struct FormatTwoVectorTests {
    static let event = Event(
        id: EventID(origin: OriginID(unchecked: "0123456789abcdef0123456789abcdef"), seq: 2),
        stream: StreamID(unchecked: "case:WY-2016-0012"), type: EventType(unchecked: "case.note-added"), schemaVersion: 1,
        hlc: HLCTimestamp(wallMillis: 1_764_397_200_001, counter: 3), recordedAt: 1_764_397_200_001, occurredAt: 1_457_519_400_000,
        actor: "DS Walsh", causationID: nil, correlationID: "referral 7",
        prev: [EventID(origin: OriginID(unchecked: "0123456789abcdef0123456789abcdef"), seq: 1)],
        payload: #"{"note":"Victim moved to a safe house"}"#,
        prevHash: EventHash(bytes: [UInt8](repeating: 0x11, count: 32)), hash: .genesis,
        commitment: nil, salt: (0..<32).map { UInt8($0) }
    )

    @Test func theVectorsCommitmentAndHash() {
        var event = Self.event
        event.commitment = event.computeCommitment()
        event.hash = event.computeHash()
        // Also reproduced by a 15-line Python script written from the documented layout alone.
        #expect(event.commitment?.hex == "74de991448b8b22dcab5ba922e9369870cb2effaaef732b2b62817e4ee66717d")
        #expect(event.hash.hex == "7856c449917b8eabcb3e437f1d82eb9096f38ba0908e4bcdc028267e2f5d1ed4")
    }
}

/// `SharingPolicy.withholdsNothing`: the gate the web view asks, which must agree with what
/// `decide(stream:)` grants, stream by stream.
struct WithholdsNothingTests {
    static let streams = ["case:WY-1", "meeting:NATN-1", "action:A-1", "minutes:M-1"].map { StreamID(unchecked: $0) }

    @Test(arguments: [
        // (rules, default, local streams, withholds nothing)
        ([String](), "full", false, true),
        ([], "stubs", false, false),
        ([], "full", true, false),
        (["kind:meeting"], "full", false, false),
        (["region:West Yorkshire"], "full", false, false),
        (["all"], "stubs", false, true),
        (["all"], "full", true, false),
        (["kind:case", "kind:meeting", "kind:action"], "full", false, false),
        (["kind:case", "kind:meeting", "kind:action", "kind:other"], "stubs", false, true),
    ])
    func agreesWithTheDecisionForEveryStream(rules: [String], defaultRule: String, keepsOneLocal: Bool, expected: Bool) throws {
        let policy = SharingPolicy(
            peer: "west-yorkshire", rules: try rules.map(ShareSelector.init(parsing:)), defaultRule: SharingPolicy.Default(rawValue: defaultRule)!,
            localStreams: keepsOneLocal ? [Self.streams[0]] : []
        )
        #expect(policy.withholdsNothing == expected)
        // When it says nothing is withheld, every stream of every kind is granted.
        if policy.withholdsNothing { #expect(Self.streams.allSatisfy { policy.decide(stream: $0).sendsOpening }) }
        else { #expect(!Self.streams.allSatisfy { policy.decide(stream: $0).sendsOpening }) }
    }
}
