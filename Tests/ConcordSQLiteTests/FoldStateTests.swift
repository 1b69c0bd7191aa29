import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// The kept fold states (`fold_states`): a catch-up folds a stream onward from its state when
/// the new events sort after it, and the tables and states it leaves are exactly a rebuild's.
struct FoldStateTests {
    typealias Context = DomainRecorder.Context

    /// Every read-model table's rows and every kept state's bytes, in key order.
    static func snapshot(_ store: SQLiteEventStore) throws -> [[[SQLValue]]] {
        let tables = try ReadModelSchema.tables.map { table in
            try store.queryReadModels(.live, sql: "SELECT * FROM {schema}.\(table.name) ORDER BY \(table.primaryKey.joined(separator: ", "))", []).rows
        }
        let states = try store.queryReadModels(.live, sql: "SELECT stream, hex(state) FROM {schema}.fold_states ORDER BY stream", []).rows
        return tables + [states]
    }

    /// Appends a domain event as it stands, without the recorder (whose commands catch the read
    /// models up themselves): the next catch-up is the test's to count.
    static func append(_ store: SQLiteEventStore, _ stream: String, _ event: DomainEvent, at occurredAt: Int64) throws {
        let draft = try EventDraft(
            stream: StreamID(stream), type: EventType(event.typeName), schemaVersion: event.schemaVersion,
            data: event.data, actor: "hub", occurredAt: occurredAt
        )
        _ = try store.append([draft])
    }

    @Test func foldingOnwardLeavesWhatARebuildLeaves() async throws {
        let directory = try TemporaryDirectory("fold-states")
        let nodes = try await ConvergenceTests.divergentNodes(in: directory)
        let hub = nodes[0]
        // The hub's own edits, one at a time: each new event sorts after its stream's state.
        try hub.catchUpProjections()
        for index in 0..<5 {
            try Self.append(hub, "case:WM-1", .caseNoteAdded(note: "Hub note \(index)"), at: 1_457_600_000_000 + Int64(index))
            let count = try hub.catchUpProjectionsCounting()
            #expect(count == SQLiteEventStore.CatchUpCount(extended: 1, refolded: 0), "note \(index)")
        }
        // Another node's concurrent edits arrive later but sort before the hub's newest events
        // (their clocks are earlier): those streams are folded again whole; the other node's
        // new case is folded from nothing.
        let before = try Self.snapshot(hub)
        try await LogExport.forEachBatch(of: SQLiteSyncBackend(store: nodes[1])) { batch in _ = try hub.ingest(batch) }
        let count = try hub.catchUpProjectionsCounting()
        #expect(count.refolded >= 2)
        #expect(count.total == 3)
        let after = try Self.snapshot(hub)
        #expect(after != before)
        try await LogExport.forEachBatch(of: SQLiteSyncBackend(store: nodes[2])) { batch in _ = try hub.ingest(batch) }
        try hub.catchUpProjections()
        for index in 0..<3 {
            try Self.append(hub, "meeting:WM-M1", .meetingAttendeeRecorded(name: "Guest \(index)", role: "observer", organisation: nil), at: 1_457_700_000_000 + Int64(index))
        }
        #expect(try hub.catchUpProjectionsCounting() == SQLiteEventStore.CatchUpCount(extended: 1, refolded: 0))
        let incremental = try Self.snapshot(hub)
        #expect(incremental.last?.count == 5)  // two cases of the hub, one a node, and the meeting
        #expect(try hub.readModelDifferences() == [])
        try hub.rebuildProjections()
        #expect(try Self.snapshot(hub) == incremental)
    }

    @Test func aStoreWithoutKeptStatesVerifiesAndKeepsThemFromItsNextCatchUp() async throws {
        // As a store built before migration 0010 stands: read models current, no states.
        let directory = try TemporaryDirectory("fold-none")
        let store = try StoreFixtures.createStore(in: directory)
        try await ProjectionTests.recordScenario(store)
        try store.catchUpProjections()
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        try raw.execute("DELETE FROM fold_states")
        #expect(try store.readModelDifferences() == [])
        try Self.append(store, "case:WY-2016-0012", .caseNoteAdded(note: "After the upgrade"), at: 1_464_739_200_000)
        #expect(try store.catchUpProjectionsCounting() == SQLiteEventStore.CatchUpCount(extended: 0, refolded: 1))
        let states = try store.queryReadModels(.live, sql: "SELECT stream FROM {schema}.fold_states", []).rows
        #expect(states == [[.text("case:WY-2016-0012")]])
        #expect(try store.readModelDifferences() == [])
    }

    @Test func aDamagedStateIsNamedByVerifyAndFoldedAgainWhole() async throws {
        let directory = try TemporaryDirectory("fold-damaged")
        let store = try StoreFixtures.createStore(in: directory)
        try await ProjectionTests.recordScenario(store)
        try store.catchUpProjections()
        let rebuiltRows = try Self.snapshot(store)
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        // Bytes that do not decode, on the case; a state of another stream on the action.
        try raw.execute("UPDATE fold_states SET state = x'01' WHERE stream = 'case:WY-2016-0012'")
        try raw.execute("UPDATE fold_states SET state = (SELECT state FROM fold_states WHERE stream = 'meeting:NATN-2016-03') WHERE stream = 'action:NATN-2016-03-A1'")
        let differences = try #require(try store.readModelDifferences())
        #expect(differences.map(\.table) == ["fold_states", "fold_states"])
        #expect(differences.map(\.key) == ["stream=action:NATN-2016-03-A1", "stream=case:WY-2016-0012"])
        #expect(differences.allSatisfy { $0.kind == .changed })
        // The next events on both streams: neither state decodes as its stream's, so both are
        // folded again whole, and the rows and states are right again.
        try Self.append(store, "case:WY-2016-0012", .caseNoteAdded(note: "Seen again"), at: 1_464_739_200_000)
        try Self.append(store, "action:NATN-2016-03-A1", .actionProgressNoted(note: "Written up"), at: 1_464_825_600_000)
        #expect(try store.catchUpProjectionsCounting() == SQLiteEventStore.CatchUpCount(extended: 0, refolded: 2))
        #expect(try store.readModelDifferences() == [])
        let mended = try Self.snapshot(store)
        #expect(mended != rebuiltRows)
        try store.rebuildProjections()
        #expect(try Self.snapshot(store) == mended)
    }

    /// A state that decodes, of the right stream and kind, but stale (the stream's state before
    /// its last event) or of another stream of the same kind is never used: the catch-up folds
    /// the stream whole, so no wrong row is written.
    @Test func aStaleOrSwappedStateIsNotUsed() async throws {
        let directory = try TemporaryDirectory("fold-stale")
        let store = try StoreFixtures.createStore(in: directory)
        try await ProjectionTests.recordScenario(store)
        try Self.append(store, "case:WY-2016-0099", .caseOpened(reference: "WY-2016-0099", title: "Other", region: "West Yorkshire", category: nil), at: 1_464_739_100_000)
        try store.catchUpProjections()
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        try raw.execute("CREATE TABLE old_states AS SELECT stream, state FROM fold_states")
        try Self.append(store, "case:WY-2016-0012", .caseNoteAdded(note: "A later note"), at: 1_464_739_200_000)
        try store.catchUpProjections()
        // The case's state put back as it was before that note; the other case's state replaced by
        // the first case's.
        try raw.execute("UPDATE fold_states SET state = (SELECT state FROM old_states WHERE stream = 'case:WY-2016-0012') WHERE stream = 'case:WY-2016-0012'")
        try raw.execute("UPDATE fold_states SET state = (SELECT state FROM fold_states WHERE stream = 'case:WY-2016-0012') WHERE stream = 'case:WY-2016-0099'")
        #expect(try store.readModelDifferences()?.map(\.key) == ["stream=case:WY-2016-0012", "stream=case:WY-2016-0099"])
        try Self.append(store, "case:WY-2016-0012", .caseNoteAdded(note: "Another note"), at: 1_464_739_300_000)
        try Self.append(store, "case:WY-2016-0099", .caseNoteAdded(note: "A first note"), at: 1_464_739_400_000)
        #expect(try store.catchUpProjectionsCounting() == SQLiteEventStore.CatchUpCount(extended: 0, refolded: 2))
        #expect(try store.readModelDifferences() == [])
        let caughtUp = try Self.snapshot(store)
        try store.rebuildProjections()
        #expect(try Self.snapshot(store) == caughtUp)
    }
}
