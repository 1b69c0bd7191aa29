import ConcordCore
import ConcordProjections
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// `concord verify`'s read-model check on every backend that keeps read models, by the one
/// engine (`Projector.check`): rows and kept fold states an insider edits with `sqlite3` or
/// `psql` are named by table and key, and bookkeeping that does not match the log is a fault.
struct ReadModelCheckConformanceTests {
    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func theCheckNamesEveryEditedRowAndStateWhateverTheBookkeepingSays(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        west.append(stream: "case:C-1", type: "case.opened", hlc: FoldStateConformanceTests.at(10), payload: FoldStateConformanceTests.opened("C-1"))
        west.append(stream: "case:C-1", type: "case.note-added", hlc: FoldStateConformanceTests.at(20), payload: FoldStateConformanceTests.note("one"))
        west.append(stream: "case:C-2", type: "case.opened", hlc: FoldStateConformanceTests.at(30), payload: FoldStateConformanceTests.opened("C-2"))
        west.seal()
        try await backend.withStore { store in
            // An empty store: nothing to check (SQLite, never built) or nothing wrong (PostgreSQL
            // builds its empty read models when it creates the store).
            let empty = try await Backend.checkReadModels(store)
            #expect(empty == nil || empty == ReadModelCheck(differences: [], eventsBehind: 0), "\(String(describing: empty))")
            _ = try await store.ingest(west.batch(), from: "west")
            _ = try await Backend.catchUpCounting(store)
            #expect(try await Backend.checkReadModels(store) == ReadModelCheck(differences: [], eventsBehind: 0))

            try await Backend.execute("UPDATE cases SET title = 'Changed' WHERE case_id = 'C-1'", on: store)
            try await Backend.execute("DELETE FROM case_notes", on: store)
            try await Backend.execute("UPDATE fold_states SET state = (SELECT state FROM fold_states WHERE stream = 'case:C-1') WHERE stream = 'case:C-2'", on: store)
            let edited = try #require(try await Backend.checkReadModels(store))
            #expect(edited.differences.map { "\($0.table) \($0.key) \($0.kind)" }.sorted() == [
                "case_notes case_id=C-1, event_id=\(west.origin.hex):2 missing", "cases case_id=C-1 changed", "fold_states stream=case:C-2 changed",
            ], "\(edited.differences)")

            // Bookkeeping is checked, never trusted: a position past the log, another version.
            try await Backend.execute("UPDATE projection_state SET position = 1000", on: store)
            #expect(try await Backend.checkReadModels(store)?.differences.map(\.detail) == ["the read models claim to stand at position 1000, and the log ends at 3"])
            try await Backend.execute("UPDATE projection_state SET position = 3, version = 1", on: store)
            #expect(try await Backend.checkReadModels(store)?.differences.first?.detail.hasPrefix("the read models are at version 1") == true)

            // Rebuilt from the log, they are its fold again.
            let reader = try #require(store as? any ReadModelReader)
            _ = try await reader.rebuildReadModels()
            #expect(try await Backend.checkReadModels(store) == ReadModelCheck(differences: [], eventsBehind: 0))
        }
    }

    /// A process killed between a commit and its catch-up leaves events after the read models'
    /// position: the check folds only up to where they stand, so those events are behind, not
    /// missing rows (the crash harness found SQLite's check reading past the position).
    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func eventsStoredAfterThePositionAreBehindNotMissing(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        west.append(stream: "case:C-1", type: "case.opened", hlc: FoldStateConformanceTests.at(10), payload: FoldStateConformanceTests.opened("C-1"))
        west.seal()
        try await backend.withStore { store in
            _ = try await store.ingest(west.batch(), from: "west")
            _ = try await Backend.catchUpCounting(store)
            west.append(stream: "case:C-1", type: "case.note-added", hlc: FoldStateConformanceTests.at(20), payload: FoldStateConformanceTests.note("one"))
            west.append(stream: "case:C-2", type: "case.opened", hlc: FoldStateConformanceTests.at(30), payload: FoldStateConformanceTests.opened("C-2"))
            west.seal()
            _ = try await store.ingest(west.batch(), from: "west")
            let behind = try await Backend.checkReadModels(store)
            #expect(behind == ReadModelCheck(differences: [], eventsBehind: 2), "\(String(describing: behind))")
            _ = try await Backend.catchUpCounting(store)
            #expect(try await Backend.checkReadModels(store) == ReadModelCheck(differences: [], eventsBehind: 0))
        }
    }
}
