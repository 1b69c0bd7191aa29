import ConcordCore
import ConcordDomain
import ConcordInMemory
import ConcordProjections
import ConcordRecording
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Foundation
import Testing

/// One test body, every backend (as GRDB runs one body against each of its writers): what a
/// hub's store must do, whichever holds it. The events come from a real SQLite region node, so
/// each backend is also held to the region's own verdicts and digest.
@Suite struct StoreConformanceTests {
    typealias Context = DomainRecorder.Context

    /// A region with cases, a meeting, a decision and an action, recorded through the domain.
    static func region(in directory: TemporaryDirectory, name: String = "west-yorkshire") async throws -> SQLiteEventStore {
        let store = try StoreFixtures.createStore(in: directory, name: "\(name).sqlite", node: name)
        let recorder = DomainRecorder(store: SQLiteSyncBackend(store: store))
        let day = Context(actor: "officer", occurredAt: 1_457_519_400_000)
        try await recorder.run(.open(title: "Car wash on Leeds Road", region: "West Yorkshire", category: "labour exploitation", reference: "WY-2016-0012"), caseID: "WY-1", day)
        try await recorder.run(.note("Four men seen sleeping on site"), caseID: "WY-1", day)
        try await recorder.run(.changeStatus(.investigating), caseID: "WY-1", day)
        try await recorder.run(.schedule(title: "Regional tasking", at: 1_460_000_000_000, location: "Wakefield", host: nil), meetingID: "M-1", day)
        try await recorder.run(.decide(decisionID: "D-1", text: "Visit with the GLAA", proposedBy: "chair"), meetingID: "M-1", day)
        try await recorder.run(.raise(title: "Joint visit", owner: "DS Khan", due: "2016-04-01", decisionID: "D-1", caseID: "WY-1"), actionID: "A-1", day)
        return store
    }

    static func everything(_ store: SQLiteEventStore) async throws -> IngestBatch {
        try await store.missingBatch(have: VersionVector(), maxEvents: 100_000).batch
    }

    /// An earlier incarnation's events, and a later one's erasure of its second event carrying
    /// the earlier key's handover (a store moved with its key).
    static func handedOver() throws -> (earlier: ForgedOrigin, later: ForgedOrigin) {
        func salt() -> [UInt8] { (0..<EventLimits.saltBytes).map { _ in UInt8.random(in: 0...255) } }
        var earlier = ForgedOrigin()
        for index in 1...3 { earlier.append(stream: "notes:N-1", payload: #"{"note":"Victim \#(index)"}"#, opening: .whole(salt: salt())) }
        earlier.seal()
        var later = ForgedOrigin()
        let erasure = try Erasure(targets: [EventID(origin: earlier.origin, seq: 2)], reason: "retention review", handovers: [Handover.sign(by: earlier.key, to: later.origin, through: 3)])
            .draft(actor: "dpo", occurredAt: 1_457_519_400_000, origin: later.origin)
        later.append(stream: erasure.stream.rawValue, type: Erasure.eventType, payload: erasure.payload, opening: .whole(salt: salt()))
        later.seal()
        return (earlier, later)
    }

    /// A later incarnation may erase what an earlier one of its node recorded when it carries the
    /// earlier key's handover; every backend applies it, whether the earlier events are held
    /// already or arrive after the erasure (from another peer).
    @Test(arguments: Backend.underTest)
    func aLaterIncarnationsErasureAppliesToTheEarlierOnesEventsWhenEverTheyArrive(_ backend: Backend) async throws {
        let (earlier, later) = try Self.handedOver()
        for erasureFirst in [false, true] {
            try await backend.withStore { store in
                let batches = erasureFirst ? [later.batch(after: 0), earlier.batch(after: 0)] : [earlier.batch(after: 0), later.batch(after: 0)]
                for batch in batches { #expect(try await store.ingest(batch, source: "import", policy: .allOrNothing).refused.isEmpty) }
                let held = try await store.events(of: earlier.origin, after: 0, through: 3)
                #expect(held.map(\.disclosure) == [.full, .erased, .full], "erasure first: \(erasureFirst)")
                #expect(!held[1].payload.contains("Victim"))
            }
        }
        // A handover the earlier key did not sign is refused, and nothing of it is stored.
        var forged = ForgedOrigin()
        let stranger = NodeKey()
        let claimed = Handover(from: earlier.originKey, to: forged.origin, through: 3, signature: stranger.sign(Handover.signedBytes(from: earlier.origin, to: forged.origin, through: 3)))
        let erasure = try Erasure(targets: [EventID(origin: earlier.origin, seq: 2)], reason: "retention review", handovers: [claimed])
            .draft(actor: "x", occurredAt: 1_457_519_400_000, origin: forged.origin)
        forged.append(stream: erasure.stream.rawValue, type: Erasure.eventType, payload: erasure.payload, opening: .whole(salt: Array(repeating: 7, count: EventLimits.saltBytes)))
        forged.seal()
        try await backend.withStore { store in
            _ = try await store.ingest(earlier.batch(after: 0), source: "import", policy: .allOrNothing)
            await #expect(throws: ConcordError.self) { try await store.ingest(forged.batch(after: 0), source: "import", policy: .allOrNothing) }
            #expect(try await store.events(of: earlier.origin, after: 0, through: 3).map(\.disclosure) == [.full, .full, .full])
        }
    }

    @Test(arguments: Backend.underTest)
    func storesVerifiedEventsAndServesThemBackAsTheRegionHoldsThem(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory("conformance-region")
        let region = try await Self.region(in: directory)
        let batch = try await Self.everything(region)
        let origin = try region.origin
        try await backend.withStore { store in
            let result = try await store.ingest(batch, source: "import", policy: .allOrNothing)
            #expect(result.inserted == batch.events.count && result.refused.isEmpty)
            #expect(try await store.versionVector() == region.versionVector())
            #expect(try await store.eventCount() == batch.events.count)
            #expect(try await store.originKey(origin) == region.originKey(origin))
            let count = UInt64(batch.events.count)
            #expect(try await store.events(of: origin, after: 0, through: count) == batch.events)
            #expect(try await store.events(of: origin, after: 2, through: 4).map(\.seq) == [3, 4])
            #expect(try await store.events(of: origin, after: count, through: UInt64(Int64.max)).isEmpty)
            #expect(try await store.eventHash(origin, seq: 3) == batch.events[2].hash)
            #expect(try await store.eventHash(origin, seq: count + 1) == nil)
            #expect(try await store.nextSeal(of: origin, after: 0) == region.nextSeal(of: origin, after: 0))
            #expect(try await store.nextSeal(of: origin, after: count) == nil)
            // The global order: every event once, positions rising.
            let log = try await store.readLog(afterPosition: 0, limit: 1000)
            #expect(log.map(\.event.id) == batch.events.map(\.id))
            #expect(zip(log, log.dropFirst()).allSatisfy { $0.position < $1.position })
            #expect(try await store.readLog(afterPosition: log[2].position, limit: 2).map(\.event.seq) == [4, 5])
            // Filtered as `concord log` asks: by stream, type and origin prefix, first or last N.
            let expected = { (filter: LogFilter) in log.filter { filter.matches($0.event) } }
            for filter in [
                LogFilter(stream: "case:WY-1"), LogFilter(type: "case.note-added"), LogFilter(stream: "meeting:M-1", type: "meeting.decision-recorded"),
                LogFilter(originPrefix: String(origin.hex.prefix(3))), LogFilter(originPrefix: "g"), LogFilter(stream: "case:nothing"),
            ] {
                #expect(try await store.readLog(afterPosition: 0, limit: 1000, matching: filter, newestFirst: false) == expected(filter), "\(filter)")
                #expect(try await store.readLog(afterPosition: 0, limit: 2, matching: filter, newestFirst: true) == expected(filter).suffix(2), "\(filter)")
            }
            #expect(expected(LogFilter(stream: "case:WY-1")).count == 3 && expected(LogFilter(originPrefix: String(origin.hex.prefix(3)))).count == log.count)
            #expect(try await store.readLog(afterPosition: log[1].position, limit: 1, matching: LogFilter(stream: "case:WY-1"), newestFirst: false).map(\.event.seq) == [3])
            // The export: the region's own, batch for batch, and each batch verifies as it comes
            // (it ends on a seal), so a reader may store it before reading the next.
            func exported(_ source: some BatchSource) async throws -> [[String]] {
                var batches: [[String]] = []
                let reader = InMemoryStore(nodeName: "reader")
                try await LogExport.forEachBatch(of: source, batchSize: 2) { batch in
                    batches.append(batch.keys.map(\.origin.hex) + batch.events.map(\.hash.description) + batch.seals.map(\.seq.description))
                    let stored = try await reader.ingest(batch, from: "export")
                    #expect(stored.refused.isEmpty && stored.inserted == batch.events.count)
                }
                #expect(try await reader.versionVector() == (try await source.versionVector()))
                return batches
            }
            let batches = try await exported(store)
            #expect(batches == (try await exported(SQLiteSyncBackend(store: region))))
            #expect(batches.count == (batch.events.count + 1) / 2 && batches[0].first == origin.hex)
            // Offered again: all held, nothing new.
            let again = try await store.ingest(batch, from: "region")
            #expect(again.inserted == 0 && again.alreadyHeld == batch.events.count)
            // The same fold, whichever store: the region's digest.
            #expect(try await store.readModelDigest() == region.readModelDigest(.live))
            // The commands' SQL reads the same rows from both SQL backends, views included.
            if backend != .memory {
                let reader = try #require(store as? any ReadModelReader)
                let overdue = try await reader.queryReadModels(.live, sql: "SELECT action_id, due_date, owner FROM {schema}.overdue_actions WHERE owner = $1", [.text("DS Khan")])
                #expect(overdue.rows == [[.text("A-1"), .text("2016-04-01"), .text("DS Khan")]] && overdue.columns == ["action_id", "due_date", "owner"])
                let trail = try await reader.queryReadModels(.live, sql: "SELECT d.decision_id, d.action_id, a.case_id FROM {schema}.decision_trail d JOIN {schema}.actions a ON a.action_id = d.action_id ORDER BY 1", [])
                #expect(trail.rows == [[.text("D-1"), .text("A-1"), .text("WY-1")]])
                #expect(try await reader.streamEvents(try StreamID("case:WY-1"), .live).map(\.streamVersion) == [1, 2, 3])
            }
        }
    }

    @Test(arguments: Backend.underTest)
    func refusesWhatDoesNotVerifyWithTheSameCodesAndStoresNothingOfIt(_ backend: Backend) async throws {
        var honest = ForgedOrigin()
        for _ in 0..<3 { honest.append() }
        honest.seal()
        var tampered = ForgedOrigin()
        for _ in 0..<3 { tampered.append() }
        tampered.seal()
        var tamperedBatch = tampered.batch()
        tamperedBatch.events[1].payload = #"{"n":2}"#
        var unsealed = ForgedOrigin()
        for _ in 0..<2 { unsealed.append() }
        var gapped = ForgedOrigin()
        for _ in 0..<4 { gapped.append() }
        gapped.seal()
        let cases: [(batch: IngestBatch, code: ConcordError.Code)] = [
            (tamperedBatch, .invalidEvent),
            (unsealed.batch(), .invalidEvent),
            (IngestBatch(keys: gapped.batch().keys, events: Array(gapped.events.dropFirst()), seals: gapped.seals), .invalidEvent),
            (IngestBatch(keys: [], events: honest.events, seals: honest.seals), .invalidEvent),
        ]
        try await backend.withStore { store in
            for (batch, code) in cases {
                await #expect(throws: ConcordError.self) { try await store.ingest(batch, source: "import", policy: .allOrNothing) }
                let result = try await store.ingest(batch, from: "hostile")
                #expect(result.inserted == 0 && result.refused.map(\.code) == [code], "\(result.refused)")
            }
            #expect(try await store.versionVector() == VersionVector())
            #expect(try await store.eventCount() == 0)
            // Set aside, one origin's refusal does not stop another's events in the same push.
            var mixed = honest.batch()
            mixed.keys += tamperedBatch.keys
            mixed.events += tamperedBatch.events
            mixed.seals += tamperedBatch.seals
            let result = try await store.ingest(mixed, from: "mixed")
            #expect(result.inserted == 3 && result.refused.map(\.origin) == [tampered.origin])
            #expect(try await store.versionVector() == VersionVector([honest.origin: 3]))
            // An import is all or nothing.
            var other = ForgedOrigin()
            other.append()
            other.seal()
            var both = other.batch()
            both.keys += tamperedBatch.keys
            both.events += tamperedBatch.events
            both.seals += tamperedBatch.seals
            await #expect(throws: ConcordError.self) { try await store.ingest(both, source: "import", policy: .allOrNothing) }
            #expect(try await store.versionVector() == VersionVector([honest.origin: 3]))
        }
    }

    @Test(arguments: Backend.underTest)
    func aForkIsRefusedAndKeptAsEvidence(_ backend: Backend) async throws {
        var origin = ForgedOrigin()
        for _ in 0..<3 { origin.append() }
        origin.seal()
        var branch = origin.branch(keeping: 1)
        branch.append(payload: #"{"n":"other"}"#)
        branch.seal()
        try await backend.withStore { store in
            _ = try await store.ingest(origin.batch(), from: "first")
            let result = try await store.ingest(branch.batch(), from: "second")
            #expect(result.inserted == 0 && result.refused.map(\.code) == [.fork])
            #expect(try await store.forkedOrigins() == [origin.origin])
            #expect(try await store.versionVector() == VersionVector([origin.origin: 3]))
            #expect(try await store.eventHash(origin.origin, seq: 2) == origin.events[1].hash)

            // The evidence moves with the record (concord copy): checked again, one an origin,
            // and never kept by a store that holds another history, or with a signature altered.
            let kept = try await store.keptForkProofs()
            #expect(kept.map(\.proof.origin) == [origin.origin] && kept.first?.source.contains("second") == true)
            try await backend.withStore(named: "copy") { copy in
                #expect(try await copy.restoreForkProofs(kept) == 0, "the copy holds no event at the proof's seq yet")
                _ = try await copy.ingest(origin.batch(), source: "copy", policy: .allOrNothing)
                var forged = kept
                forged[0].proof.seal.signature[0] ^= 1
                #expect(try await copy.restoreForkProofs(forged) == 0)
                #expect(try await copy.restoreForkProofs(kept + kept) == 1)
                #expect(try await copy.restoreForkProofs(kept) == 0, "one proof an origin")
                #expect(try await copy.forkedOrigins() == [origin.origin])
                #expect(try await copy.keptForkProofs() == kept)
            }
            try await backend.withStore(named: "other-history") { other in
                _ = try await other.ingest(branch.batch(), source: "copy", policy: .allOrNothing)
                #expect(try await other.restoreForkProofs(kept) == 0, "its held event is the offered side, not the held one")
            }
        }
    }

    /// `LogVerifier` reads every backend through `VerifiableLog` (what `concord copy` checks a
    /// copy by): origins, keys, seals, and an origin's events paged to their edges.
    @Test(arguments: Backend.underTest)
    func everyBackendIsReadByTheLogVerifier(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        for index in 1...5 { west.append(payload: #"{"n":\#(index)}"#) }
        west.seal(at: 3)
        west.seal()
        try await backend.withStore { store in
            _ = try await store.ingest(west.batch(), source: "copy", policy: .allOrNothing)
            let report = try await LogVerifier.verify(store, batchSize: 2)
            // (A SQLite store also holds its own node's key.)
            let keys = try await store.originKeys().map(\.origin)
            #expect(report.isValid && report.eventsChecked == 5 && report.sealsChecked == 2 && report.origins == keys.count, "\(report.faults)")
            #expect(try await store.eventOrigins() == [west.origin])
            #expect(keys.contains(west.origin))
            #expect(try await store.seals(of: west.origin).map(\.seq) == [3, 5])
            #expect(try await store.readOrigin(west.origin, afterSeq: 0, limit: .max).map(\.event.seq) == [1, 2, 3, 4, 5])
            #expect(try await store.readOrigin(west.origin, afterSeq: 4, limit: .max).map(\.event.seq) == [5])
            #expect(try await store.readOrigin(west.origin, afterSeq: 1, limit: 2).map(\.event.seq) == [2, 3])
            #expect(try await store.readOrigin(west.origin, afterSeq: 5, limit: 10).isEmpty)
            #expect(try await store.readOrigin(west.origin, afterSeq: .max, limit: 10).isEmpty)
            #expect(try await store.readOrigin(west.origin, afterSeq: 0, limit: 0).isEmpty)
            #expect(try await store.readOrigin(ForgedOrigin().origin, afterSeq: 0, limit: 10).isEmpty)
            // Seals by range, at the edges of a seq's range (a seq above Int64.max is none).
            #expect(try await store.seals(of: west.origin, after: 0, through: .max).map(\.seq) == [3, 5])
            #expect(try await store.seals(of: west.origin, after: 3, through: 5).map(\.seq) == [5])
            #expect(try await store.seals(of: west.origin, after: .max, through: .max).isEmpty)
            #expect(try await store.nextSeal(of: west.origin, after: 0)?.seq == 3)
            #expect(try await store.nextSeal(of: west.origin, after: 3)?.seq == 5)
            #expect(try await store.nextSeal(of: west.origin, after: .max) == nil)
        }
    }

    @Test(arguments: Backend.underTest)
    func tokensAreIssuedCheckedAndRevoked(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let writer = try await store.issueToken(peer: "west-yorkshire", readOnly: false)
            let reader = try await store.issueToken(peer: "auditor", readOnly: true)
            #expect(writer != reader && writer.hasPrefix("concord_") && writer.utf8.count == 72)
            #expect(try await store.authenticate(token: writer)?.peer == "west-yorkshire")
            #expect(try await store.authenticate(token: writer)?.readOnly == false)
            #expect(try await store.authenticate(token: reader)?.readOnly == true)
            #expect(try await store.authenticate(token: writer + "0") == nil)
            #expect(try await store.authenticate(token: "") == nil)
            #expect(try await store.issuedTokens().map(\.peer) == ["auditor", "west-yorkshire"])
            // A new token replaces the peer's old one.
            let replaced = try await store.issueToken(peer: "west-yorkshire", readOnly: false)
            #expect(try await store.authenticate(token: writer) == nil)
            #expect(try await store.authenticate(token: replaced)?.peer == "west-yorkshire")
            // Kept tokens move with a copied hub: the same token works on the copy.
            let kept = try await store.keptTokens()
            #expect(kept.map(\.peer) == ["auditor", "west-yorkshire"] && kept.allSatisfy { $0.digest.count == 32 })
            #expect(try await store.revokeToken(peer: "west-yorkshire"))
            #expect(try await !store.revokeToken(peer: "west-yorkshire"))
            #expect(try await store.authenticate(token: replaced) == nil)
            try await store.restoreTokens(kept)
            #expect(try await store.authenticate(token: replaced)?.peer == "west-yorkshire")
            #expect(try await store.revokeToken(peer: "west-yorkshire"))
            await #expect(throws: ConcordError.self) { try await store.issueToken(peer: "", readOnly: false) }
            // Copied tokens are checked before any is kept: one that is no digest keeps none.
            let bad = KeptToken(peer: "bad", digest: [1, 2], readOnly: false, createdAt: 0)
            await #expect(throws: ConcordError.self) { try await store.restoreTokens([kept[1], bad]) }
            #expect(try await store.authenticate(token: replaced) == nil)
            #expect(try await store.issuedTokens().map(\.peer) == ["auditor"])
        }
    }

    @Test(arguments: Backend.underTest)
    func setAsideOriginsAreBoundedPerPeerAndForgottenOnceStored(_ backend: Backend) async throws {
        let origins = (0..<(SyncLimits.maxSetAsidePerPeer + 20)).map { _ in ForgedOrigin().origin }
        try await backend.withStore { store in
            _ = try await store.issueToken(peer: "hostile", readOnly: false)
            let refusals = origins.map { SyncWire.Refusal(origin: $0, seq: 1, code: "invalid-event", message: "forged") }
            try await store.recordSetAside(peer: "hostile", refused: refusals, stored: [])
            #expect(try await store.setAsideOrigins().count == SyncLimits.maxSetAsidePerPeer)
            let first = try await store.setAsideOrigins()[0].refusal.origin
            try await store.recordSetAside(peer: "hostile", refused: [], stored: [first])
            #expect(try await store.setAsideOrigins().count == SyncLimits.maxSetAsidePerPeer - 1)
            #expect(try await !store.setAsideOrigins().contains { $0.refusal.origin == first })
            #expect(try await store.revokeToken(peer: "hostile"))
            #expect(try await store.setAsideOrigins().isEmpty)
        }
    }

    @Test(arguments: Backend.underTest)
    func stubsVerifyAndTheirOpeningsArriveLate(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory("conformance-stubs")
        let region = try await Self.region(in: directory)
        let whole = try await Self.everything(region)
        var stubs = whole
        stubs.events = whole.events.map { $0.stub ?? $0 }
        let expected = try region.readModelDigest(.live)
        try await backend.withStore { store in
            let result = try await store.ingest(stubs, from: "region")
            #expect(result.inserted == whole.events.count)
            let page = try await store.withheld(storedAfter: 0, limit: 1000)
            #expect(SyncWire.eventCount(of: page.ranges) == UInt64(whole.events.count) && !page.more)
            #expect(try await store.stubsCursor() == page.through && page.through > 0)
            #expect(try await store.readModelDigest() != expected, "stubs fold as withheld rows")
            let before = try await store.openingsGeneration()
            // An opening that does not match its commitment is ignored.
            var forged = whole.events[0]
            forged.payload = #"{"title":"forged"}"#
            #expect(try await store.storeOpenings([forged], from: "hostile").stored == 0)
            let stored = try await store.storeOpenings(whole.events, from: "region")
            #expect(stored.stored == whole.events.count && stored.ignored == 0)
            #expect(try await store.withheld(storedAfter: 0, limit: 1000).ranges.isEmpty)
            #expect(try await store.openingsGeneration() > before)
            #expect(try await store.events(of: try region.origin, after: 0, through: 100) == whole.events)
            #expect(try await store.readModelDigest() == expected)
            // Openings state, per peer.
            let state = OpeningsState(peerOpenings: 7, askedThrough: 3, ownOpenings: nil, peerStubsThrough: 9)
            try await store.recordOpeningsState(state, with: "region")
            #expect(try await store.openingsState(with: "region") == state)
            #expect(try await store.openingsState(with: "other") == OpeningsState())
        }
    }

    @Test(arguments: Backend.underTest)
    func anErasureDestroysTheOpeningsItNamesAndEveryStoreFoldsItAlike(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory("conformance-erasure")
        let region = try await Self.region(in: directory)
        let before = try await Self.everything(region)
        let note = before.events[1]
        let erasure = try Erasure(targets: [note.id], reason: "subject access request").draft(actor: "dpo", occurredAt: 1_457_600_000_000, origin: try region.origin)
        try await region.append([erasure])
        try await backend.withStore { store in
            _ = try await store.ingest(before, from: "region")
            let result = try await store.ingest(try await Self.everything(region), from: "region")
            #expect(result.inserted == 1 && result.openingsErased == 1)
            let held = try await store.events(of: note.origin, after: 1, through: 2)
            #expect(held.first?.disclosure == .erased && held.first?.hash == note.hash)
            #expect(try await store.readModelDigest() == region.readModelDigest(.live))
        }
    }

    @Test(arguments: Backend.underTest)
    func thePullAnswerComesFromTheOneResponderAndVerifiesElsewhere(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory("conformance-pull")
        let region = try await Self.region(in: directory)
        let copy = try StoreFixtures.createStore(in: directory, name: "copy.sqlite", node: "copy")
        try await backend.withStore { store in
            _ = try await store.ingest(try await Self.everything(region), from: "region")
            let responder = SyncResponder(backend: store, limits: SyncLimits())
            let answer = try await responder.pullAnswer(SyncWire.PullRequest(have: VersionVector(), maxEvents: 5000), peer: "copy")
            var reader = BatchReader(limits: SyncLimits())
            try reader.feed(answer.body)
            let batch = try reader.finish()
            #expect(reader.end?.more == false && answer.events == batch.events.count)
            _ = try copy.ingest(batch)
            #expect(try copy.versionVector() == region.versionVector())
            #expect(try copy.readModelDigest(.live) == region.readModelDigest(.live))
        }
    }

    /// A rebuild folds every stream again from the log and gives back exactly the read models
    /// that catch-up built, across more events than one page of the rebuild's reading, with a
    /// stream that spans pages (PostgreSQL reads 5,000 at a time).
    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func aRebuildGivesBackTheReadModelsCatchUpBuilt(_ backend: Backend) async throws {
        var origin = ForgedOrigin()
        for index in 1...6_200 {
            let stream = index <= 7 ? "case:C-\(index)" : "case:C-\(index % 3 + 1)"
            let payload = index <= 7 ? #"{"reference":"C-\#(index)","title":"Case \#(index)","region":"R\#(index % 2)"}"# : #"{"note":"note \#(index)"}"#
            origin.append(stream: stream, type: index <= 7 ? "case.opened" : "case.note-added", payload: payload)
            if index % 1000 == 0 || index == 6_200 { origin.seal() }
        }
        try await backend.withStore { store in
            _ = try await store.ingest(origin.batch(), source: "import", policy: .allOrNothing)
            let caughtUp = try await store.readModelDigest()
            let reader = try #require(store as? any ReadModelReader)
            let notes = try await reader.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.case_notes", [])
            #expect(notes.rows == [[.integer(6_193)]])
            #expect(try await reader.rebuildReadModels() == 7)
            #expect(try await store.readModelDigest() == caughtUp)
            let status = try await reader.projectionStatus()
            #expect(status.isCurrent && status.logPosition == 6_200 && status.rebuiltAt != nil, "\(status)")
        }
    }

    /// Strict trust on any backend: only origins on the roster are stored; a batch carrying
    /// another is refused with `untrusted-origin` and, all or nothing, stores nothing; an origin
    /// taken off the roster keeps what is held and gets nothing new in.
    @Test(arguments: Backend.underTest)
    func strictTrustStoresOnlyTheRostersOriginsAndKeepsWhatIsHeld(_ backend: Backend) async throws {
        var listed = ForgedOrigin()
        for _ in 0..<2 { listed.append() }
        listed.seal()
        var other = ForgedOrigin()
        other.append()
        other.seal()
        func together(_ batches: IngestBatch...) -> IngestBatch {
            IngestBatch(keys: batches.flatMap(\.keys), events: batches.flatMap(\.events), seals: batches.flatMap(\.seals))
        }
        try await backend.withStore { store in
            #expect(try await store.trustMode() == .firstSight)
            try await store.setTrustMode(.strict)
            #expect(try await store.trustMode() == .strict)
            try await store.trust(listed.origin, label: "west-yorkshire")
            try await store.trust(listed.origin, label: "west-yorkshire-pcc")
            #expect(try await store.trustedOrigins().map { [$0.origin.hex, $0.label] } == [[listed.origin.hex, "west-yorkshire-pcc"]])
            await #expect(throws: ConcordError.self) { try await store.trust(other.origin, label: "") }

            let refused = await #expect(throws: ConcordError.self) {
                try await store.ingest(together(listed.batch(), other.batch()), source: "import", policy: .allOrNothing)
            }
            #expect(refused?.code == .untrustedOrigin && refused?.message.contains(other.origin.hex) == true, "\(String(describing: refused))")
            #expect(try await store.eventCount() == 0)
            // From a peer: the listed origin goes in, the other is set aside with the same code.
            let pushed = try await store.ingest(together(listed.batch(), other.batch()), from: "region")
            #expect(pushed.inserted == 2 && pushed.refused.map(\.code) == [.untrustedOrigin] && pushed.refused.first?.origin == other.origin)
            #expect(try await store.versionVector() == VersionVector([listed.origin: 2]))

            // Off the roster: what is held stays, nothing new goes in; first sight takes it again.
            #expect(try await store.distrust(listed.origin))
            #expect(try await store.distrust(listed.origin) == false)
            listed.append()
            listed.seal()
            #expect(try await store.ingest(listed.batch(after: 2), from: "region").refused.map(\.code) == [.untrustedOrigin])
            #expect(try await store.versionVector() == VersionVector([listed.origin: 2]))
            try await store.setTrustMode(.firstSight)
            #expect(try await store.ingest(together(listed.batch(after: 2), other.batch()), from: "region").inserted == 2)
            // A file node writes as its incarnation, a PostgreSQL hub signs as its key's origin,
            // the memory store is neither.
            #expect(try await store.ownOrigins().isEmpty == (backend == .memory))
        }
    }

    /// `concord share add|remove|default|local` on any backend: each change does what
    /// `SharingChange.apply` does to the settings, says whether it changed anything, moves the
    /// openings number exactly when it did, and a peer name no token could have stores nothing.
    @Test(arguments: Backend.underTest)
    func sharingChangesFollowOneRuleAndTellPeersWhenTheyChangeAnything(_ backend: Backend) async throws {
        let local = try StreamID("case:WY-1")
        let changes: [SharingChange] = [
            .addRule(peer: "lancashire", .kind("meeting")), .addRule(peer: "lancashire", .kind("meeting")), .addRule(peer: "auditor", .all),
            .addRule(peer: "lancashire", .stream(local)), .removeRule(peer: "lancashire", .kind("meeting")), .removeRule(peer: "nobody", .all),
            .setDefault(.stubs), .keepLocal(local, true), .keepLocal(local, true), .keepLocal(try StreamID("case:other"), false),
            .setDefault(.full), .keepLocal(local, false),
        ]
        try await backend.withStore { store in
            var expected = try await store.sharingSettings()
            for change in changes {
                let generation = try await store.openingsGeneration()
                let changed = try await store.changeSharing(change)
                #expect(changed == change.apply(to: &expected, at: 0), "\(change)")
                #expect((try await store.openingsGeneration() > generation) == changed, "\(change)")
                let held = try await store.sharingSettings()
                #expect(held.rules.map { [$0.peer, $0.selector.description] } == expected.rules.map { [$0.peer, $0.selector.description] }, "\(change)")
                #expect(held.defaultRule == expected.defaultRule && held.localStreams == expected.localStreams, "\(change)")
            }
            #expect(expected.rules.map(\.selector) == [.all, .stream(local)] && expected.defaultRule == .full && expected.localStreams.isEmpty)
            let before = try await store.sharingSettings()
            for name in ["", String(repeating: "p", count: 101), "two words"] {
                await #expect(throws: ConcordError.self) { try await store.changeSharing(.addRule(peer: name, .all)) }
            }
            #expect(try await store.sharingSettings() == before)
        }
    }

    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func sharingRulesResolveAlikeAndOnlyWhatTheyGrantLeavesWhole(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory("conformance-sharing")
        let region = try await Self.region(in: directory)
        let batch = try await Self.everything(region)
        let settings = SharingSettings(
            rules: [
                ShareRule(peer: "west-yorkshire", selector: .region("West Yorkshire"), addedAt: 1),
                ShareRule(peer: "auditor", selector: .kind("meeting"), addedAt: 2),
            ],
            defaultRule: .stubs, localStreams: []
        )
        try await backend.withStore { store in
            _ = try await store.ingest(batch, from: "region")
            let before = try await store.openingsGeneration()
            try await store.restoreSharing(settings)
            let kept = try await store.sharingSettings()
            #expect(Set(kept.rules) == Set(settings.rules) && kept.defaultRule == .stubs && kept.localStreams.isEmpty)
            #expect(try await store.openingsGeneration() > before, "peers ask again once rules change")
            let regional = try await store.sharingPolicy(for: "west-yorkshire")
            #expect(Set(regional.resolvedStreams.keys) == [StreamID(unchecked: "case:WY-1"), StreamID(unchecked: "action:A-1")])
            let auditor = try await store.sharingPolicy(for: "auditor")
            let stranger = try await store.sharingPolicy(for: "stranger")
            for event in batch.events {
                let category = event.stream.category ?? ""
                #expect(regional.decide(event).sendsOpening == (category == "case" || category == "action"), "\(event.stream)")
                #expect(auditor.decide(event).sendsOpening == (category == "meeting"), "\(event.stream)")
                #expect(!stranger.decide(event).sendsOpening)
            }
            // What leaves the store follows the rules: a stranger pulls stubs only.
            let answer = try await SyncResponder(backend: store, limits: SyncLimits()).pullAnswer(SyncWire.PullRequest(have: VersionVector(), maxEvents: 5000), peer: "stranger")
            var reader = BatchReader(limits: SyncLimits())
            try reader.feed(answer.body)
            let pulled = try reader.finish()
            #expect(pulled.events.count == batch.events.count && pulled.events.allSatisfy { $0.disclosure == .withheld })
        }
    }
}
