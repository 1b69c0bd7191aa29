import ConcordCore
import ConcordProjections
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Past views (`--as-of`, `--valid-at`) on every backend that keeps read models, by the one
/// replay (`Projector.replay`, `ReadModelView.includes`): the same rows, the same digests as a
/// SQLite store folding the same events, the views (`decision_trail`) there too, and nothing
/// written.
struct PastViewConformanceTests {
    static let day: Int64 = 86_400_000
    static let first: Int64 = 1_457_481_600_000  // 2016-03-09

    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func pastViewsShowWhatWasStoredOrHadHappenedByThen(_ backend: Backend) async throws {
        var origin = ForgedOrigin()
        origin.append(stream: "case:C-1", type: "case.opened", occurredAt: Self.first, payload: FoldStateConformanceTests.opened("C-1"))
        origin.append(stream: "case:C-1", type: "case.note-added", occurredAt: Self.first + Self.day, payload: FoldStateConformanceTests.note("day two"))
        origin.seal()
        let early = origin.batch()
        origin.append(stream: "case:C-2", type: "case.opened", occurredAt: Self.first + 2 * Self.day, payload: FoldStateConformanceTests.opened("C-2"))
        origin.seal()

        // Reference digests from SQLite stores holding the same events.
        let directory = try TemporaryDirectory("past-view-reference")
        let whole = try StoreFixtures.createStore(in: directory, name: "whole.sqlite", node: "whole")
        _ = try whole.ingest(origin.batch())
        let partial = try StoreFixtures.createStore(in: directory, name: "partial.sqlite", node: "partial")
        _ = try partial.ingest(early)

        try await backend.withStore { store in
            let reader = try #require(store as? any ReadModelReader)
            _ = try await store.ingest(early, from: "region")
            // Every event stored after `between` (the clock moves on before the second batch).
            let between = Timestamp.nowMillis()
            while Timestamp.nowMillis() <= between {}
            _ = try await store.ingest(origin.batch(after: 2), from: "region")

            func cases(_ view: ReadModelView) async throws -> [String] {
                try await reader.queryReadModels(view, sql: "SELECT case_id FROM {schema}.cases ORDER BY 1", []).rows.map(\.description)
            }
            func notes(_ view: ReadModelView) async throws -> [[SQLValue]] {
                try await reader.queryReadModels(view, sql: "SELECT count(*) FROM {schema}.case_notes", []).rows
            }
            #expect(try await cases(.live) == ["[C-1]", "[C-2]"])
            #expect(try await cases(.asOf(between)) == ["[C-1]"])
            #expect(try await cases(.asOf(0)) == [])
            #expect(try await cases(.validAt(Self.first)) == ["[C-1]"])
            #expect(try await notes(.validAt(Self.first)) == [[.integer(0)]])
            #expect(try await notes(.validAt(Self.first + Self.day)) == [[.integer(1)]])
            #expect(try await cases(.validAt(Self.first + 2 * Self.day)) == ["[C-1]", "[C-2]"])
            // The views over the tables are replayed too.
            #expect(try await reader.queryReadModels(.asOf(between), sql: "SELECT count(*) FROM {schema}.decision_trail", []).rows == [[.integer(0)]])

            #expect(try await reader.readModelDigest(.asOf(between)) == partial.readModelDigest(.live))
            #expect(try await reader.readModelDigest(.asOf(.max)) == whole.readModelDigest(.live))
            for time in [Self.first - 1, Self.first, Self.first + Self.day, Self.first + 2 * Self.day] {
                #expect(try await reader.readModelDigest(.validAt(time)) == whole.readModelDigest(.validAt(time)), "valid at \(time)")
            }
            let c1 = try StreamID("case:C-1")
            #expect(try await reader.streamEvents(c1, .validAt(Self.first)).map(\.event.seq) == [1])
            #expect(try await reader.streamEvents(c1, .asOf(0)).isEmpty)
            #expect(try await reader.streamEvents(c1, .live).map(\.event.seq) == [1, 2])

            // Nothing was written: the live read models are as before, and a replay again works
            // (its scratch tables went with it).
            #expect(try await store.readModelDigest() == whole.readModelDigest(.live))
            #expect(try await cases(.asOf(between)) == ["[C-1]"])
        }
    }
}
