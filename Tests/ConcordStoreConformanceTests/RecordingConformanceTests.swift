import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Recording this node's own events, by the one engine (`AppendWriter`) on every backend that
/// records (a region's file; a PostgreSQL hub with its signing key): the chain, the clock, the
/// stream's heads as parents, expected versions, seals and a recorded erasure, the same on both.
struct RecordingConformanceTests {
    static func note(_ stream: String, _ text: String) throws -> EventDraft {
        try EventDraft(stream: StreamID(stream), type: EventType("note.added"), data: .object(["text": .string(text)]), actor: "secretariat", occurredAt: 1_700_000_000_000)
    }

    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func recordedEventsExtendTheNodesChainNameTheHeadsAndAreSealedAndChecked(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        try await backend.withStore(named: "national-hub") { hub in
            let store = try #require(hub as? any RecordingBackend, "\(backend) records")
            let origin = try #require(try await store.ownOrigins().first)

            // Two events on a new stream: seqs 1 and 2 of the node's origin, versions 1 and 2,
            // the second naming the first, stamps rising, one seal over the head.
            let first = try await store.append([try Self.note("minutes:M-1", "one"), try Self.note("minutes:M-1", "two")], expecting: [StreamID("minutes:M-1"): .noStream])
            #expect(first.events.map(\.event.id) == [EventID(origin: origin, seq: 1), EventID(origin: origin, seq: 2)])
            #expect(first.events.map(\.streamVersion) == [1, 2])
            #expect(first.events[0].event.prev == [] && first.events[1].event.prev == [first.events[0].event.id])
            #expect(first.events[0].event.prevHash == .genesis && first.events[1].event.prevHash == first.events[0].event.hash)
            #expect(first.events[0].event.hlc < first.events[1].event.hlc)
            #expect(first.seal.seq == 2 && first.seal.hash == first.events[1].event.hash)
            #expect(try await store.seals(of: origin).map(\.seq) == [2])
            #expect(try await store.originKeys().contains { $0.origin == origin })

            // A stale expectation is refused and stores nothing.
            let refused = await #expect(throws: ConcordError.self) {
                try await store.append([try Self.note("minutes:M-1", "stale")], expecting: [StreamID("minutes:M-1"): .exactly(1)])
            }
            #expect(refused?.code == .wrongExpectedVersion)
            #expect(try await store.versionVector()[origin] == 2)

            // A region's event on the same stream, naming nothing: two heads, and the next
            // recorded event names both (in origin, seq order), stamped above each.
            let far = west.append(stream: "minutes:M-1", hlc: HLCTimestamp(wallMillis: Timestamp.nowMillis() + 60_000, counter: 0), prev: [])
            west.seal()
            _ = try await store.ingest(west.batch(), source: "import", policy: .allOrNothing)
            let merge = try await store.append([try Self.note("minutes:M-1", "three")], expecting: [StreamID("minutes:M-1"): .exactly(3)])
            let merged = merge.events[0]
            #expect(merged.streamVersion == 4 && merged.event.id == EventID(origin: origin, seq: 3))
            #expect(merged.event.prev == [first.events[1].event.id, far.id].sorted { ($0.origin, $0.seq) < ($1.origin, $1.seq) })
            #expect(merged.event.hlc > far.hlc)
            // And then it is the stream's only head.
            let after = try await store.append([try Self.note("minutes:M-1", "four")], expecting: [:])
            #expect(after.events[0].event.prev == [merged.event.id])

            // An erasure recorded by this node destroys its own event's opening on the spot.
            let erasure = try Erasure(targets: [first.events[0].event.id], reason: "recorded in error").draft(actor: "secretariat", occurredAt: 1_700_000_000_000, origin: origin)
            _ = try await store.append([erasure], expecting: [:])
            let held = try await store.readOrigin(origin, afterSeq: 0, limit: 1)
            #expect(held.first?.event.disclosure == .erased && held.first?.event.payload.contains("one") == false)

            // What was recorded verifies: every chain, every seal.
            let report = try await LogVerifier.verify(store, batchSize: 2)
            #expect(report.isValid && report.eventsChecked == 6, "\(report.faults)")
        }
    }

    /// The domain's commands through the one recorder (`DomainRecorder`), on every backend that
    /// records: what the rules allow is stored and read back from the read models alike; what
    /// they refuse (a decision id used twice, an action following an unknown decision, a note on
    /// an unknown case, a second opening) throws the same error and stores nothing.
    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func domainCommandsRecordAndRefuseAlikeOnEveryBackend(_ backend: Backend) async throws {
        try await backend.withStore(named: "national-hub") { hub in
            let store = try #require(hub as? any RecordingBackend & ReadModelReader, "\(backend) records")
            let recorder = DomainRecorder(store: store)
            let day = DomainRecorder.Context(actor: "secretariat", occurredAt: 1_473_847_200_000)
            try await recorder.run(.schedule(title: "Autumn meeting", at: 1_473_847_200_000, location: "London", host: nil), meetingID: "NATN-2016-09", day)
            try await recorder.run(.decide(decisionID: "NATN-2016-09-D1", text: "Report quarterly", proposedBy: "chair"), meetingID: "NATN-2016-09", day)
            try await recorder.run(.raise(title: "First report", owner: "West Yorkshire", due: "2016-12-31", decisionID: "NATN-2016-09-D1", caseID: nil), actionID: "NATN-2016-09-A1", day)
            try await recorder.run(.open(title: "Referral", region: "West Yorkshire", category: nil, reference: nil), caseID: "HUB-1", day)
            let charged = try await recorder.run(.changeStatus(.charged), caseID: "HUB-1", day)
            #expect(charged.streamVersion == 2)
            let held = try await store.versionVector()

            for (code, words, command) in [
                (ConcordError.Code.ruleViolation, "decision NATN-2016-09-D1 is already recorded", { try await recorder.run(.decide(decisionID: "NATN-2016-09-D1", text: "again", proposedBy: nil), meetingID: "NATN-2016-09", day) }),
                (.ruleViolation, "already used by meeting NATN-2016-09", { try await recorder.run(.schedule(title: "Other", at: 1_473_847_200_000, location: "Leeds", host: nil), meetingID: "WY-M1", day) ; return try await recorder.run(.decide(decisionID: "NATN-2016-09-D1", text: "clash", proposedBy: nil), meetingID: "WY-M1", day) }),
                (.unknownID, "no decision NATN-2016-09-D9", { try await recorder.run(.raise(title: "t", owner: "o", due: nil, decisionID: "NATN-2016-09-D9", caseID: nil), actionID: "A2", day) }),
                (.unknownID, "no case HUB-2", { try await recorder.run(.raise(title: "t", owner: "o", due: nil, decisionID: nil, caseID: "HUB-2"), actionID: "A3", day) }),
                (.unknownID, "no case HUB-2", { try await recorder.run(.note("a note"), caseID: "HUB-2", day) }),
                (.ruleViolation, "already open", { try await recorder.run(.open(title: "Again", region: "West Yorkshire", category: nil, reference: nil), caseID: "HUB-1", day) }),
            ] as [(ConcordError.Code, String, () async throws -> StoredEvent)] {
                let error = await #expect(throws: ConcordError.self) { try await command() }
                #expect(error?.code == code && error?.message.contains(words) == true, "\(backend): \(error?.message ?? "nothing thrown")")
            }
            // Only the meeting scheduled inside the second command was stored.
            var expected = held
            expected[try #require(try await store.ownOrigins().first)] += 1
            #expect(try await store.versionVector() == expected)

            let rows = { (sql: String) in try await store.queryReadModels(.live, sql: sql, []).rows.map { $0.map(\.description) } }
            #expect(try await rows("SELECT decision_id, meeting_id FROM {schema}.decisions ORDER BY 1") == [["NATN-2016-09-D1", "NATN-2016-09"]])
            #expect(try await rows("SELECT action_id, decision_id, status FROM {schema}.actions") == [["NATN-2016-09-A1", "NATN-2016-09-D1", "open"]])
            #expect(try await rows("SELECT case_id, status FROM {schema}.cases") == [["HUB-1", "charged"]])
            #expect(try await rows("SELECT meeting_id FROM {schema}.meetings ORDER BY 1") == [["NATN-2016-09"], ["WY-M1"]])
        }
    }

    /// `concord erase`'s rule through the one recorder (`DomainRecorder.erase`), on every backend that
    /// records: this node's own events are erased (their openings destroyed in the same commit),
    /// and what it may not erase is refused with the same words, storing nothing.
    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func erasuresChooseWhatThisNodeMayEraseAlikeOnEveryBackend(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        let foreign = west.append(stream: "case:WY-1", payload: #"{"title":"Theirs"}"#, opening: .whole(salt: Array(repeating: 7, count: EventLimits.saltBytes)))
        west.seal()
        try await backend.withStore(named: "national-hub") { hub in
            let store = try #require(hub as? any RecordingBackend & ReadModelReader, "\(backend) records")
            _ = try await store.ingest(west.batch(), source: "import", policy: .allOrNothing)
            let own = try await store.append([try Self.note("case:WY-1", "victim's name"), try Self.note("notes:N-1", "kept")], expecting: [:]).events
            let origin = try await store.writingOrigin()
            #expect(own.allSatisfy { $0.event.origin == origin })
            #expect(try await store.handovers().isEmpty)
            let eraser = DomainRecorder(store: store)
            let context = DomainRecorder.Context(actor: "dpo", occurredAt: 1_700_000_000_000)

            let refusals: [(ErasureTarget, ConcordError.Code, String)] = [
                (.event(foreign.id), .invalidArgument, "only the node that recorded an event may erase it"),
                (.event(EventID(origin: origin, seq: 99)), .unknownID, "this node holds no event \(origin):99"),
                (.stream(try StreamID("case:WY-9")), .unknownID, "this node holds no event on case:WY-9"),
            ]
            for (target, code, words) in refusals {
                let held = try await store.versionVector()
                let error = await #expect(throws: ConcordError.self) { try await eraser.erase([target], reason: "r", context) }
                #expect(error?.code == code && error?.message.contains(words) == true, "\(backend): \(error?.message ?? "nothing thrown")")
                #expect(try await store.versionVector() == held)
            }

            // Of a stream, this node's event is erased and the region's counted as left.
            let outcome = try await eraser.erase([.stream(try StreamID("case:WY-1"))], reason: "retention review", context)
            #expect(outcome.erased == [own[0].event.id] && outcome.ofOtherOrigins == 1 && outcome.leftAsTheyAre == 0)
            #expect(outcome.erasure.event.origin == origin && outcome.erasure.event.type.rawValue == Erasure.eventType)
            let events = try await store.streamEvents(try StreamID("case:WY-1"), .live)
            #expect(events.map(\.event.disclosure) == [.full, .erased] && !events[1].event.payload.contains("victim"))
            // Erased once, the event is not erased again; nor is an erasure.
            for target in [ErasureTarget.event(own[0].event.id), .event(outcome.erasure.event.id)] {
                let error = await #expect(throws: ConcordError.self) { try await eraser.erase([target], reason: "r", context) }
                #expect(error?.message.contains("erased already") == true || error?.message.contains("is an erasure") == true, "\(error?.message ?? "")")
            }
            let report = try await LogVerifier.verify(store, batchSize: 2)
            #expect(report.isValid, "\(report.faults)")
        }
    }
}
