import ConcordCore
import Foundation
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// What a peer with a push token can make a store keep is bounded: origins, set-aside entries and
/// fork proofs.
struct StoreBoundsTests {
    /// Fills the `origins` table up to `count` rows (the store's own origin among them) with
    /// placeholder origins, as if that many nodes had pushed one event each.
    func fillOrigins(_ store: SQLiteEventStore, upTo count: Int) throws {
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        let held = Int(try raw.scalarInt("SELECT count(*) FROM origins") ?? 0)
        try raw.execute("BEGIN")
        for index in held..<count {
            let hex = String(String(format: "%032x", index).suffix(32))
            try raw.cached("INSERT INTO origins (origin, public_key, first_seen) VALUES (?, ?, 0)").run([.text(hex), .blob(Array(repeating: 7, count: 32))])
        }
        try raw.execute("COMMIT")
    }

    func forged(_ events: Int) -> ForgedOrigin {
        var origin = ForgedOrigin()
        for _ in 0..<events { origin.append() }
        origin.seal()
        return origin
    }

    @Test func aStoreAtTheOriginCapRefusesNewOriginsAndKeepsTakingHeldOnes() throws {
        let directory = try TemporaryDirectory("origin-cap")
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft()])
        var held = forged(2)
        #expect(try store.ingest(held.batch(), source: "peer", policy: .setAside).inserted == 2)
        try fillOrigins(store, upTo: EventLimits.maxReceivedOrigins - 1)

        // One place left: of two new origins in one batch, the first (in origin order) is taken.
        let first = forged(1), second = forged(1)
        var both = first.batch()
        both.keys += second.batch().keys
        both.events += second.events
        both.seals += second.seals
        let result = try store.ingest(both, source: "peer", policy: .setAside)
        #expect(result.inserted == 1)
        #expect(result.refused.map(\.code) == [.tooManyOrigins])
        #expect(try store.versionVector()[min(first.origin, second.origin)] == 1)
        #expect(try store.versionVector()[max(first.origin, second.origin)] == 0)

        // Full: a new origin is refused whole, nothing of it kept (not even its key).
        let late = forged(3)
        let refused = try store.ingest(late.batch(), source: "peer", policy: .setAside)
        #expect(refused.inserted == 0 && refused.refused.map(\.code) == [.tooManyOrigins])
        #expect(try store.versionVector()[late.origin] == 0)
        #expect(throws: ConcordError.self) { try store.ingest(late.batch(), source: "import") }
        let raw = try SQLiteConnection(path: store.path, flags: [.readOnly])
        #expect(try raw.scalarInt("SELECT count(*) FROM origins") == Int64(EventLimits.maxReceivedOrigins))

        // A held origin still grows, and so does the store's own.
        held.append()
        held.seal()
        #expect(try store.ingest(held.batch(after: 2), source: "peer", policy: .setAside).inserted == 1)
        try store.append([StoreFixtures.draft()])
        #expect(try store.versionVector()[store.origin] == 2)
    }

    /// The last places are kept for the store's own incarnations (a store restored from a backup,
    /// a lost key): a node full of others' origins still writes, and its vector still fits.
    @Test func aStoreFullOfOthersOriginsCanStillStartAnIncarnationButNotPastTheCap() throws {
        let directory = try TemporaryDirectory("origin-cap-incarnation")
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft()])
        try fillOrigins(store, upTo: EventLimits.maxReceivedOrigins)
        #expect(try store.ingest(forged(1).batch(), source: "peer", policy: .setAside).refused.map(\.code) == [.tooManyOrigins])
        let first = try store.origin
        try FileManager.default.removeItem(atPath: store.path + ".key")
        let reopened = try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger)
        let written = try reopened.append([StoreFixtures.draft()]).events[0].event
        #expect(written.origin != first && written.seq == 1)

        // At the cap itself, a new incarnation is refused, and nothing is written.
        try fillOrigins(reopened, upTo: EventLimits.maxOrigins)
        try FileManager.default.removeItem(atPath: store.path + ".key")
        let full = try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger)
        let eventsBefore = try full.eventCount()
        #expect { try full.append([StoreFixtures.draft()]) } throws: { ($0 as? ConcordError)?.code == .tooManyOrigins }
        #expect(try full.eventCount() == eventsBefore)
        #expect(!FileManager.default.fileExists(atPath: store.path + ".key"), "no key file was written for an incarnation that did not start")
    }

    @Test func setAsideEntriesAreCappedPerPeerAndGoWithTheRevokedToken() throws {
        let directory = try TemporaryDirectory("set-aside-cap")
        let store = try StoreFixtures.createStore(in: directory)
        _ = try store.issueToken(peer: "hostile", readOnly: false)
        _ = try store.issueToken(peer: "honest", readOnly: false)
        let refusals = (0..<250).map { _ in SyncWire.Refusal(origin: NodeKey().origin, seq: 1, code: "invalid-event", message: "bad") }
        try store.recordSetAside(peer: "hostile", Array(refusals[0..<150]), replacing: false)
        try store.recordSetAside(peer: "hostile", Array(refusals[150..<250]), replacing: false)
        try store.recordSetAside(peer: "honest", [refusals[0]], replacing: false)
        let kept = try store.setAsideOrigins()
        #expect(kept.filter { $0.peer == "hostile" }.count == SQLiteEventStore.maxSetAsidePerPeer)
        #expect(Set(kept.filter { $0.peer == "hostile" }.map(\.origin)) == Set(refusals[0..<100].map(\.origin)))
        // An origin already set aside is updated even when the peer's entries are full.
        try store.recordSetAside(peer: "hostile", [SyncWire.Refusal(origin: refusals[5].origin, seq: 9, code: "fork", message: "again")], replacing: false)
        #expect(try store.setAsideOrigins().first { $0.peer == "hostile" && $0.origin == refusals[5].origin }?.code == "fork")

        #expect(try store.revokeToken(peer: "hostile"))
        #expect(try store.setAsideOrigins().map(\.peer) == ["honest"])
    }

    @Test func onlyOneForkProofIsKeptPerOrigin() async throws {
        let directory = try TemporaryDirectory("one-proof")
        let store = try StoreFixtures.createStore(in: directory)
        let trunk = forged(2)
        #expect(try store.ingest(trunk.batch(), source: "peer", policy: .setAside).inserted == 2)
        for branchNote in 1...5 {
            var branch = trunk.branch(keeping: 1)
            branch.append(payload: #"{"branch":\#(branchNote)}"#)
            branch.seal()
            let result = try store.ingest(branch.batch(after: 1), source: "peer-\(branchNote)", policy: .setAside)
            #expect(result.refused.map(\.code) == [.fork])
        }
        let evidence = try await SQLiteSyncBackend(store: store).forkEvidence()
        #expect(evidence.proven.count == 1 && evidence.unproven.isEmpty && evidence.proven.first?.source == "peer-1")
        #expect(evidence.proven.first.map { EventID(origin: $0.proof.origin, seq: $0.proof.seq) } == EventID(origin: trunk.origin, seq: 2))
    }

    /// `forkEvidence` checks every kept proof again: one edited so that it no longer holds (or no
    /// longer reads) proves nothing, and neither does a claim an earlier release kept without a
    /// seal; each is listed, none counts as a fork.
    @Test func keptForkEvidenceIsCheckedAgainAndClaimsThatProveNothingAreListed() async throws {
        let directory = try TemporaryDirectory("fork-evidence")
        let store = try StoreFixtures.createStore(in: directory)
        let backend = SQLiteSyncBackend(store: store)
        let trunk = forged(2)
        #expect(try store.ingest(trunk.batch(), source: "peer", policy: .setAside).inserted == 2)
        var branch = trunk.branch(keeping: 1)
        branch.append(payload: #"{"branch":1}"#)
        branch.seal()
        #expect(try store.ingest(branch.batch(after: 1), source: "peer-1", policy: .setAside).refused.map(\.code) == [.fork])
        #expect(try await backend.forkedOrigins() == [trunk.origin])

        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        try raw.execute("INSERT INTO forks VALUES ('\(trunk.origin.hex)', 1, zeroblob(32), zeroblob(32), '{}', 'an earlier release', 5)")
        var evidence = try await backend.forkEvidence()
        #expect(evidence.proven.count == 1 && evidence.unproven == [ForkClaim(event: EventID(origin: trunk.origin, seq: 1), source: "an earlier release", detectedAt: 5)])

        try raw.execute("DROP TRIGGER fork_proofs_refuse_update")
        try raw.execute("UPDATE fork_proofs SET held_hash = zeroblob(32)")
        evidence = try await backend.forkEvidence()
        #expect(evidence.proven.isEmpty && evidence.unproven.map(\.event.seq) == [1, 2] && evidence.unproven.map(\.source) == ["an earlier release", "peer-1"])
        #expect(try await backend.forkedOrigins().isEmpty)
        #expect(try await backend.status().unprovenForkClaims == 2)

        try raw.execute("UPDATE fork_proofs SET proof = 'not a proof'")
        evidence = try await backend.forkEvidence()
        #expect(evidence.proven.isEmpty && evidence.unproven.map(\.event.seq) == [1, 2])
        #expect(try await backend.keptForkProofs().isEmpty)
    }
}
