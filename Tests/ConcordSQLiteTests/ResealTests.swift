import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// A run longer between seals than any peer takes (as an older release wrote a large commit) is
/// set aside by the sender until `resealLongRuns` seals it more often; then every part of it syncs.
struct ResealTests {
    @Test func aLongRunOfOurOwnSyncsOnceResealed() throws {
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
        var before = try MissingRuns(source: source, have: VersionVector(), budget: SyncLimits().budget)
        #expect(try before.batch().events.isEmpty)
        #expect(before.setAside.first?.code == "too-large")

        #expect(try store.resealLongRuns() == 2)
        #expect(try store.resealLongRuns() == 0, "nothing more to seal")
        #expect(try LogVerifier.verify(store).isValid)
        let peer = try StoreFixtures.createStore(in: directory, name: "peer.sqlite", node: "peer")
        var have = VersionVector()
        while true {
            var runs = try MissingRuns(source: source, have: have, budget: SyncLimits().budget)
            let batch = try runs.batch()
            #expect(runs.setAside.isEmpty)
            guard !batch.events.isEmpty else { break }
            #expect(try peer.ingest(batch, source: "node", policy: .setAside).refused.isEmpty)
            have = try peer.versionVector()
        }
        #expect(have[try store.origin] == UInt64(count))
    }
}
