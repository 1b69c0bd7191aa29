import ConcordClient
import ConcordCore
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Foundation
import Synchronization
import Testing

/// The driver against a peer in memory (the hub's store behind the three sync calls), so what it
/// asks for can be checked without a network.
struct SyncDriverTests {
    /// A hub of 95 events, sealed every 5 (so batches of 10 end on a seal), and an empty region.
    func hubAndRegion() throws -> (TemporaryDirectory, SQLiteEventStore, SQLiteEventStore) {
        let directory = try TemporaryDirectory("driver")
        let hub = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        for commit in 0..<19 {
            try hub.append((0..<5).map { try StoreFixtures.draft("case:HUB-\(commit % 4)", data: .object(["note": .string("note \(commit).\($0)")])) })
        }
        let region = try StoreFixtures.createStore(in: directory, name: "region.sqlite", node: "region")
        return (directory, hub, region)
    }

    @Test func fetchingAheadWastesNoPull() async throws {
        let (directory, hub, region) = try hubAndRegion()
        _ = directory
        let peer = StorePeer(store: hub)
        let summary = try await SyncDriver(client: peer, local: SQLiteSyncBackend(store: region), peerName: "hub", logger: StoreFixtures.quietLogger)
            .run(mode: .pullOnly, budget: BatchBudget(maxEvents: 10, maxBytes: 1 << 20))

        #expect(summary.pulled == 95)
        #expect(try region.versionVector() == hub.versionVector())
        // One pull a batch: every prefetched pull (asked for before the previous batch was
        // stored, with the vector the region would then hold) was the one the session wanted.
        let asked = peer.pulls.map { $0.have.eventCount }
        #expect(asked == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    }

    @Test func aPrefetchedPullIsDiscardedWhenTheNodeChangedMeanwhile() async throws {
        let (directory, hub, region) = try hubAndRegion()
        _ = directory
        let peer = StorePeer(store: hub)
        // The region records an event of its own while the first batch is stored: its vector is
        // then not the one the prefetched pull assumed.
        let local = RecordingDuringFirstIngest(inner: SQLiteSyncBackend(store: region))
        let summary = try await SyncDriver(client: peer, local: local, peerName: "hub", logger: StoreFixtures.quietLogger)
            .run(mode: .pullOnly, budget: BatchBudget(maxEvents: 10, maxBytes: 1 << 20))

        #expect(summary.pulled == 95)
        #expect(try region.eventCount() == 96)
        let pulls = peer.pulls
        let regionOrigin = try region.origin, hubOrigin = try hub.origin
        #expect(pulls.count == 11)
        // The second pull was asked for ahead, without the region's own event; the session then
        // asked again with it, and that answer was used.
        #expect(pulls[1].have[regionOrigin] == 0 && pulls[1].have[hubOrigin] == 10)
        #expect(pulls[2].have[regionOrigin] == 1 && pulls[2].have[hubOrigin] == 10)
        #expect(pulls.dropFirst(2).allSatisfy { $0.have[regionOrigin] == 1 })
    }
}

extension SyncDriverTests {
    /// A push that fails (the peer gone for a moment) is tried again by a follow without waiting
    /// for another commit, and our side of a fork is pushed until a push of it gets through.
    @Test func aFollowRetriesAFailedPushWithoutAnotherCommit() async throws {
        let (directory, hub, region) = try hubAndRegion()
        _ = directory
        let peer = FlakyPeer(StorePeer(store: hub), failingPushes: 2)
        let driver = SyncDriver(client: peer, local: SQLiteSyncBackend(store: region), peerName: "hub", logger: StoreFixtures.quietLogger)
        let firstRound = CommitSignal()
        let problems = Mutex(0)
        let follow = Task {
            try await driver.follow(localCommits: region.commits, onRound: { _ in firstRound.signal() }, onProblem: { _ in problems.withLock { $0 += 1 } })
        }
        defer { follow.cancel() }
        // A bound, not a pause: the wait ends as soon as the first round does (it can take long
        // when the whole suite runs at once on two cores).
        _ = await firstRound.wait(after: 0, timeout: .seconds(120))
        #expect(try region.versionVector()[hub.origin] == 95)
        // One commit, then none: the first pushes fail, and the event must still reach the hub.
        try await region.append([StoreFixtures.draft("case:REGION")])
        let regionOrigin = try region.origin
        let deadline = ContinuousClock.now + .seconds(120)
        while try hub.versionVector()[regionOrigin] < 1, ContinuousClock.now < deadline {
            _ = await hub.commits.wait(after: hub.commits.generation, timeout: .milliseconds(200))
        }
        #expect(try hub.versionVector()[regionOrigin] == 1, "the region's event never reached the hub after its push failed")
        #expect(peer.failedPushes == 2 && problems.withLock { $0 } >= 2)
        follow.cancel()
        _ = try? await follow.value
    }
}

/// A peer whose first pushes fail as a network would.
final class FlakyPeer: SyncPeer, @unchecked Sendable {
    private let inner: any SyncPeer
    private let failures: Mutex<Int>
    private let failed = Mutex(0)

    init(_ inner: any SyncPeer, failingPushes: Int) {
        self.inner = inner
        failures = Mutex(failingPushes)
    }

    var failedPushes: Int { failed.withLock { $0 } }

    func vector() async throws -> SyncWire.VectorDocument { try await inner.vector() }
    func pull(_ pull: SyncWire.PullRequest) async throws -> (batch: IngestBatch, end: SyncWire.BatchEnd) { try await inner.pull(pull) }
    /// Only pushes of events fail (a push of checkpoints alone is best-effort, and passes).
    func push(_ batch: IngestBatch) async throws -> SyncWire.PushResult {
        let fail = failures.withLock { left in
            guard left > 0, !batch.events.isEmpty else { return false }
            left -= 1
            return true
        }
        if fail {
            failed.withLock { $0 += 1 }
            throw ConcordError(.peer, "the connection was cut")
        }
        return try await inner.push(batch)
    }
    func stubs(since: Int64) async throws -> SyncWire.StubsPage { try await inner.stubs(since: since) }
    func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd) { try await inner.pullOpenings(request) }
    func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult { try await inner.pushOpenings(events) }
}

/// A peer in memory: answers the sync calls from a store with the server's own responder, and
/// records the pulls.
final class StorePeer: SyncPeer, @unchecked Sendable {
    private let responder: SyncResponder
    private let lock = NSLock()
    private var recorded: [SyncWire.PullRequest] = []

    init(store: SQLiteEventStore) {
        responder = SyncResponder(backend: SQLiteSyncBackend(store: store), limits: SyncLimits())
    }

    var pulls: [SyncWire.PullRequest] { lock.withLock { recorded } }

    func vector() async throws -> SyncWire.VectorDocument {
        await SyncWire.VectorDocument(
            node: "hub", vector: try responder.backend.versionVector(), limits: responder.limits.advertised,
            openings: try responder.backend.openingsGeneration(), stubs: try responder.backend.stubsCursor()
        )
    }

    func pull(_ pull: SyncWire.PullRequest) async throws -> (batch: IngestBatch, end: SyncWire.BatchEnd) {
        lock.withLock { recorded.append(pull) }
        var runs = try await responder.pull(pull, peer: "region")
        let batch = try await runs.batch()
        return await (batch, responder.end(after: runs))
    }

    func push(_ batch: IngestBatch) async throws -> SyncWire.PushResult {
        switch try await responder.push(batch, from: "region") {
        case .stored(let result, _): return result
        case .refused(_, let origins): return SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: VersionVector(), refused: origins)
        }
    }

    func stubs(since: Int64) async throws -> SyncWire.StubsPage { try await responder.stubs(since: since) }

    func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd) {
        let (events, more) = try await responder.openings(request, peer: "region")
        return await (events, SyncWire.BatchEnd(more: more, vector: try responder.backend.versionVector(), openings: try responder.backend.openingsGeneration(), stubs: try responder.backend.stubsCursor()))
    }

    func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult {
        try await responder.backend.storeOpenings(events, from: "region")
    }
}

/// A node that appends an event of its own during its first ingest.
final class RecordingDuringFirstIngest: SyncBackend, @unchecked Sendable {
    let inner: SQLiteSyncBackend
    private var ingested = 0

    init(inner: SQLiteSyncBackend) {
        self.inner = inner
    }

    func nodeName() async throws -> String { try await inner.nodeName() }
    var commits: CommitSignal { inner.commits }
    func versionVector() async throws -> VersionVector { try await inner.versionVector() }
    func originKey(_ origin: OriginID) async throws -> OriginKey? { try await inner.originKey(origin) }
    func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash? { try await inner.eventHash(origin, seq: seq) }
    func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal? { try await inner.nextSeal(of: origin, after: seq) }
    func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event] { try await inner.events(of: origin, after: after, through: through) }
    func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64? { try await inner.nextHeldSeq(of: origin, after: seq) }
    func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        ingested += 1
        if ingested == 1 { try await inner.store.append([StoreFixtures.draft("case:REGION")]) }
        return try await inner.ingest(batch, from: peer)
    }
    func catchUpReadModels() async throws { try await inner.catchUpReadModels() }
    func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? { try await inner.authenticate(token: token) }
    func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) throws {}
    func sharingPolicy(for peer: String) async throws -> SharingPolicy { try await inner.sharingPolicy(for: peer) }
    func openingsGeneration() async throws -> UInt64 { try await inner.openingsGeneration() }
    func withheld(storedAfter since: Int64, limit: Int) async throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool) {
        try await inner.withheld(storedAfter: since, limit: limit)
    }
    func stubsCursor() async throws -> Int64 { try await inner.stubsCursor() }
    func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult { try await inner.storeOpenings(events, from: peer) }
    func openingsState(with peer: String) async throws -> OpeningsState { try await inner.openingsState(with: peer) }
    func recordOpeningsState(_ state: OpeningsState, with peer: String) async throws { try await inner.recordOpeningsState(state, with: peer) }
}
