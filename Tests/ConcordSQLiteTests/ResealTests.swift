import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// A run longer between seals than any peer takes (as an older release wrote a large commit) is
/// set aside by the sender until `resealLongRuns` seals it more often; then every part of it syncs.
struct ResealTests {
    @Test func aLongRunOfOurOwnSyncsOnceResealed() async throws {
        let directory = try TemporaryDirectory("reseal")
        let store = try StoreFixtures.createStore(in: directory)
        let count = EventLimits.maxEventsPerSeal * 2 + 500
        var index = 0
        try store.appendAll {
            index += 1
            return index <= count ? try StoreFixtures.draft("notes:long", "note.added", data: .object(["n": .number("\(index)")])) : nil
        }
        // As an older release left it: one seal, at the end.
        try store.withConnection("forget the intermediate seals") { state in
            try state.connection.execute("DELETE FROM seals WHERE seq <> \(count)")
        }
        let source = SQLiteSyncBackend(store: store)
        var before = try await MissingRuns(source: source, have: VersionVector(), budget: SyncLimits().budget)
        await #expect(try before.batch().events.isEmpty)
        #expect(before.setAside.first?.code == "too-large")

        #expect(try store.resealLongRuns() == 2)
        #expect(try store.resealLongRuns() == 0, "nothing more to seal")
        #expect(try LogVerifier.verify(store).isValid)
        let peer = try StoreFixtures.createStore(in: directory, name: "peer.sqlite", node: "peer")
        var have = VersionVector()
        while true {
            var runs = try await MissingRuns(source: source, have: have, budget: SyncLimits().budget)
            let batch = try await runs.batch()
            #expect(runs.setAside.isEmpty)
            guard !batch.events.isEmpty else { break }
            #expect(try peer.ingest(batch, source: "node", policy: .setAside).refused.isEmpty)
            have = try peer.versionVector()
        }
        #expect(have[try store.origin] == UInt64(count))
    }

    /// A peer that already holds the long run (from an older release) does not get the new seals
    /// by sync (a vector says nothing of seals); an import of the origin's export gives them, and
    /// then the peer can serve the run on too.
    @Test func aPeerAlreadyHoldingTheLongRunGetsTheNewSealsByImport() async throws {
        let directory = try TemporaryDirectory("reseal-held")
        let store = try StoreFixtures.createStore(in: directory)
        let count = EventLimits.maxEventsPerSeal + 300
        var index = 0
        try store.appendAll {
            index += 1
            return index <= count ? try StoreFixtures.draft("notes:long", "note.added", data: .object(["n": .number("\(index)")])) : nil
        }
        let peer = try StoreFixtures.createStore(in: directory, name: "peer.sqlite", node: "peer")
        try await LogExport.forEachBatch(of: SQLiteSyncBackend(store: store)) { _ = try peer.ingest($0) }
        // Both as an older release left them: one seal, at the end.
        let origin = try store.origin
        for node in [store, peer] {
            try node.withConnection("forget the intermediate seals") { state in
                try state.connection.execute("DROP TRIGGER seals_refuse_delete")
                try state.connection.execute("DELETE FROM seals WHERE origin = '\(origin.hex)' AND seq <> \(count)")
            }
        }
        func setAside(_ node: SQLiteEventStore) async throws -> [String] {
            var runs = try await MissingRuns(source: SQLiteSyncBackend(store: node), have: VersionVector(), budget: SyncLimits().budget)
            _ = try await runs.batch()
            return runs.setAside.map(\.code)
        }
        #expect(try await setAside(peer) == ["too-large"])
        #expect(try store.resealLongRuns() == 1)
        #expect(try await setAside(store).isEmpty)
        #expect(try await setAside(peer) == ["too-large"], "the peer has no new seal yet")

        var lines: [IngestBatch] = []
        try await LogExport.forEachBatch(of: SQLiteSyncBackend(store: store)) { lines.append($0) }
        for batch in lines {
            let result = try peer.ingest(batch)
            #expect(result.inserted == 0 && result.alreadyHeld == batch.events.count)
        }
        #expect(try await setAside(peer).isEmpty)
        #expect(try LogVerifier.verify(peer).isValid)
    }
}
