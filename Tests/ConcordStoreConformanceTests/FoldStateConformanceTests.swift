import ConcordCore
import ConcordProjections
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Kept fold states on every backend that keeps read models, by the one catch-up engine
/// (`Projector`): a stream is folded onward from its state when its new events sort after it,
/// whole when they do not or the state does not match the log, and what a catch-up leaves is
/// exactly what a rebuild leaves, state bytes included, the same bytes on every backend.
struct FoldStateConformanceTests {
    static func opened(_ reference: String) -> String { #"{"reference":"\#(reference)","title":"Case \#(reference)","region":"R1"}"# }
    static func note(_ text: String) -> String { #"{"note":"\#(text)"}"# }
    static func at(_ millis: Int64) -> HLCTimestamp { HLCTimestamp(wallMillis: 1_700_000_000_000 + millis, counter: 0) }

    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func catchUpFoldsOnwardFromKeptStatesAndLeavesWhatARebuildLeaves(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        west.append(stream: "case:C-1", type: "case.opened", hlc: Self.at(10), payload: Self.opened("C-1"))
        west.append(stream: "case:C-2", type: "case.opened", hlc: Self.at(20), payload: Self.opened("C-2"))
        west.seal()
        var east = ForgedOrigin()
        try await backend.withStore { store in
            _ = try await store.ingest(west.batch(), from: "west")
            #expect(try await Backend.catchUpCounting(store).total == 2)
            #expect(try await Backend.foldStates(store).keys.sorted() == ["case:C-1", "case:C-2"])

            // The origin's next events sort after each stream's tail: both folded onward.
            west.append(stream: "case:C-1", type: "case.note-added", hlc: Self.at(30), payload: Self.note("one"))
            west.append(stream: "case:C-2", type: "case.note-added", hlc: Self.at(40), payload: Self.note("two"))
            west.seal()
            _ = try await store.ingest(west.batch(after: 2), from: "west")
            #expect(try await Backend.catchUpCounting(store) == Projector.CatchUpCount(extended: 2, refolded: 0))
            try await Backend.execute("CREATE TABLE old_states AS SELECT stream, state FROM fold_states", on: store)

            // Another origin's note on C-1 sorts before C-1's tail: C-1 is folded whole.
            east.append(stream: "case:C-1", type: "case.note-added", hlc: Self.at(25), payload: Self.note("earlier"))
            east.seal()
            _ = try await store.ingest(east.batch(), from: "east")
            #expect(try await Backend.catchUpCounting(store) == Projector.CatchUpCount(extended: 0, refolded: 1))

            // A swapped state (C-1's put on C-2) and a stale one (C-1's before the earlier note)
            // decode, but do not match the log: both streams are folded whole, never extended.
            try await Backend.execute("UPDATE fold_states SET state = (SELECT state FROM fold_states WHERE stream = 'case:C-1') WHERE stream = 'case:C-2'", on: store)
            try await Backend.execute("UPDATE fold_states SET state = (SELECT state FROM old_states WHERE stream = 'case:C-1') WHERE stream = 'case:C-1'", on: store)
            west.append(stream: "case:C-1", type: "case.note-added", hlc: Self.at(50), payload: Self.note("three"))
            west.append(stream: "case:C-2", type: "case.note-added", hlc: Self.at(60), payload: Self.note("four"))
            west.seal()
            _ = try await store.ingest(west.batch(after: 4), from: "west")
            #expect(try await Backend.catchUpCounting(store) == Projector.CatchUpCount(extended: 0, refolded: 2))

            // Mended: the next notes extend again, and the tables and states are a rebuild's.
            west.append(stream: "case:C-1", type: "case.note-added", hlc: Self.at(70), payload: Self.note("five"))
            west.seal()
            _ = try await store.ingest(west.batch(after: 6), from: "west")
            #expect(try await Backend.catchUpCounting(store) == Projector.CatchUpCount(extended: 1, refolded: 0))
            let caughtUp = (digest: try await store.readModelDigest(), states: try await Backend.foldStates(store))
            let reader = try #require(store as? any ReadModelReader)
            #expect(try await reader.rebuildReadModels() == 2)
            #expect(try await store.readModelDigest() == caughtUp.digest)
            #expect(try await Backend.foldStates(store) == caughtUp.states)

            // The same bytes as a SQLite store folding the same events in one go.
            let directory = try TemporaryDirectory("fold-reference")
            let reference = try StoreFixtures.createStore(in: directory, name: "reference.sqlite", node: "reference")
            _ = try reference.ingest(IngestBatch(keys: [west.originKey, east.originKey], events: west.events + east.events, seals: west.seals + east.seals))
            try reference.rebuildProjections()
            #expect(try await Backend.foldStates(SQLiteSyncBackend(store: reference)) == caughtUp.states)
            #expect(try reference.readModelDigest(.live) == caughtUp.digest)
        }
    }
}
