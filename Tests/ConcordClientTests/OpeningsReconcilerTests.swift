import ConcordCore
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Late openings against peers that answer the protocol's way but hostilely: the reconciliation
/// ends, bounded, and stores nothing it should not.
struct OpeningsReconcilerTests {
    /// A peer whose every answer is given by the test.
    struct ScriptedPeer: OpeningsPeer {
        var page: SyncWire.StubsPage
        var answer: (events: [Event], end: SyncWire.BatchEnd)

        func stubs(since: Int64) async throws -> SyncWire.StubsPage { page }
        func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd) { answer }
        func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult { SyncWire.OpeningsResult(stored: 0, ignored: events.count) }
    }

    /// A node holding one stub (of another node's event) and one whole event of its own.
    func node() async throws -> (backend: SQLiteSyncBackend, stub: Event, own: Event, directory: TemporaryDirectory) {
        let directory = try TemporaryDirectory("reconciler")
        let other = try StoreFixtures.createStore(in: directory, name: "other.sqlite", node: "other")
        let stubbed = try await other.append([try StoreFixtures.draft("case:X-1", data: .object(["note": .string("secret")]))]).events[0].event
        let store = try StoreFixtures.createStore(in: directory)
        var batch = try await other.missingBatch(have: VersionVector(), maxEvents: 1000).batch
        batch.events = batch.events.map { $0.stub! }
        try store.ingest(batch)
        let own = try await store.append([try StoreFixtures.draft("case:Y-1")]).events[0].event
        return (SQLiteSyncBackend(store: store), stubbed, own, directory)
    }

    @Test func aStubsPageCoveringMoreThanAPageMayIsRefusedAsMisbehaviour() async throws {
        let (backend, _, own, _) = try await node()
        // One range of 2^63 - 1 seqs: walking it would never end.
        let page = SyncWire.StubsPage(stubs: [SyncWire.StubRange(origin: own.origin, first: 1, last: UInt64(Int64.max))], through: 1, more: false, openings: 0)
        let peer = ScriptedPeer(page: page, answer: ([], SyncWire.BatchEnd(more: false, vector: VersionVector())))
        let reconciler = OpeningsReconciler(local: backend, peerName: "hostile", budget: SyncLimits().budget)
        await #expect(throws: ConcordError.self) { try await reconciler.run(with: peer, remoteOpenings: 1, remoteStubs: 1, ask: false, offer: true) }
        // A page within the limit naming seqs this node does not hold costs only what it holds.
        let wide = SyncWire.StubsPage(stubs: [SyncWire.StubRange(origin: own.origin, first: 1, last: 10_000)], through: 1, more: false, openings: 0)
        let outcome = try await reconciler.run(with: ScriptedPeer(page: wide, answer: peer.answer), remoteOpenings: 1, remoteStubs: 5, ask: false, offer: true)
        #expect(outcome.sent == 0 && outcome.requests == 2)
    }

    @Test func aPeerSayingMoreWithoutMovingOnIsNotAskedForever() async throws {
        let (backend, stub, _, _) = try await node()
        // "More", with an event before every range asked about (and not one of them).
        var before = stub
        before.id = EventID(origin: OriginID(unchecked: "00000000000000000000000000000000"), seq: 1)
        let peer = ScriptedPeer(
            page: SyncWire.StubsPage(stubs: [], through: 0, more: false, openings: 0),
            answer: ([before], SyncWire.BatchEnd(more: true, vector: VersionVector()))
        )
        let reconciler = OpeningsReconciler(local: backend, peerName: "hostile", budget: SyncLimits().budget)
        let outcome = try await reconciler.run(with: peer, remoteOpenings: 7, remoteStubs: 0, ask: true, offer: false)
        #expect(outcome.requests == 1 && outcome.received == 0)
        #expect(try backend.store.withheld(storedAfter: 0, limit: 10).ranges.count == 1)
    }

    @Test func anOpeningsRequestLooksAtNoMoreThanAPageOfHeldSeqs() async throws {
        let directory = try TemporaryDirectory("openings-cap")
        let store = try StoreFixtures.createStore(in: directory)
        var drafts = try (0..<10_010).map { try StoreFixtures.draft("notes:cap-\($0 % 7)", "note.added", data: .object(["n": .number("\($0)")])) }[...]
        _ = try store.appendAll { drafts.popFirst() }
        let origin = try store.origin
        let responder = SyncResponder(backend: SQLiteSyncBackend(store: store), limits: SyncLimits())
        // Ranges claiming every seq there is, ten thousand times over: answered, bounded.
        let claims = Array(repeating: SyncWire.StubRange(origin: origin, first: 1, last: UInt64(Int64.max)), count: SyncWire.maxStubRanges)
        let request = try SyncWire.OpeningsRequest(json: SyncWire.OpeningsRequest(stubs: claims, budget: SyncLimits().budget).json, limits: SyncLimits())
        let (events, more) = try await responder.openings(request, peer: "anyone")
        #expect(!events.isEmpty && events.count <= SyncWire.maxStubsPerPage && more)
        #expect(events.allSatisfy { $0.seq <= UInt64(SyncWire.maxStubsPerPage) })
        // A range whose first seq is past its last names nothing.
        let empty = try SyncWire.OpeningsRequest(json: #"{"stubs":[["\#(origin.hex)",5,2]]}"#, limits: SyncLimits())
        #expect(empty.stubs.isEmpty)
    }
}
