import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
@testable import ConcordSQLite
import ConcordTestSupport
import Testing

struct ProjectionTests {
    static func context(_ day: String, actor: String = "secretariat") -> DomainRecorder.Context {
        .init(actor: actor, occurredAt: try! Timestamp.parse(day))
    }

    /// The first meeting, a decision, an action following it, and a case.
    static func recordScenario(_ store: SQLiteEventStore) async throws {
        let recorder = DomainRecorder(store: SQLiteSyncBackend(store: store))
        try await recorder.run(.schedule(title: "First meeting", at: Timestamp.parse("2016-03-09T10:30:00Z"), location: "Home Office, London", host: "Home Office"), meetingID: "NATN-2016-03", context("2016-02-15"))
        try await recorder.run(.attend(name: "PCC for West Yorkshire", role: "chair", organisation: nil), meetingID: "NATN-2016-03", context("2016-03-09"))
        try await recorder.run(.agenda(title: "Terms of reference"), meetingID: "NATN-2016-03", context("2016-03-01"))
        try await recorder.run(.decide(decisionID: "NATN-2016-03-D2", text: "Greater Manchester presents best practice in May", proposedBy: "Chair"), meetingID: "NATN-2016-03", context("2016-03-09"))
        try await recorder.run(.raise(title: "Present best practice", owner: "GM PCC office", due: "2016-05-11", decisionID: "NATN-2016-03-D2", caseID: nil), actionID: "NATN-2016-03-A1", context("2016-03-16"))
        try await recorder.run(.open(title: "Car wash", region: "West Yorkshire", category: "labour exploitation", reference: nil), caseID: "WY-2016-0012", context("2016-03-01"))
        try await recorder.run(.changeStatus(.charged), caseID: "WY-2016-0012", context("2016-04-01"))
        try await recorder.run(.complete(outcome: "Presented on 11 May"), actionID: "NATN-2016-03-A1", context("2016-05-11"))
    }

    @Test func readModelsHoldTheDomainAfterEachCommand() async throws {
        let directory = try TemporaryDirectory("projection")
        let store = try StoreFixtures.createStore(in: directory)
        try await Self.recordScenario(store)
        let cases = try store.queryReadModels(.live, sql: "SELECT case_id, status, region, category FROM {schema}.cases", [])
        #expect(cases.rows == [[.text("WY-2016-0012"), .text("charged"), .text("West Yorkshire"), .text("labour exploitation")]])
        let trail = try store.queryReadModels(.live, sql: "SELECT decision_id, meeting_title, action_id, owner, action_status, outcome FROM {schema}.decision_trail", [])
        #expect(trail.rows == [[.text("NATN-2016-03-D2"), .text("First meeting"), .text("NATN-2016-03-A1"), .text("GM PCC office"), .text("completed"), .text("Presented on 11 May")]])
        let attendees = try store.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.attendees", [])
        #expect(attendees.rows == [[.integer(1)]])
        #expect(try store.projectionStatus().isCurrent)
    }

    @Test func aRebuildEqualsTheIncrementallyBuiltReadModels() async throws {
        let directory = try TemporaryDirectory("rebuild")
        let store = try StoreFixtures.createStore(in: directory)
        try await Self.recordScenario(store)
        let incremental = try store.readModelDigest(.live)
        let tables = try ReadModelSchema.tables.map { try store.queryReadModels(.live, sql: "SELECT * FROM {schema}.\($0.name) ORDER BY 1, 2", []).rows }
        #expect(try store.rebuildProjections() == 3)
        #expect(try store.readModelDigest(.live) == incremental)
        let rebuilt = try ReadModelSchema.tables.map { try store.queryReadModels(.live, sql: "SELECT * FROM {schema}.\($0.name) ORDER BY 1, 2", []).rows }
        #expect(rebuilt == tables)
    }

    @Test func aChangedProjectionVersionRebuildsOnNextUse() async throws {
        let directory = try TemporaryDirectory("version")
        let store = try StoreFixtures.createStore(in: directory)
        try await Self.recordScenario(store)
        let digest = try store.readModelDigest(.live)
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        try raw.execute("UPDATE projection_state SET version = 0; DELETE FROM cases")
        #expect(try !store.projectionStatus().isCurrent)
        #expect(try store.readModelDigest(.live) == digest)
    }

    @Test func asOfGivesBackEachEarlierDigestExactly() async throws {
        let directory = try TemporaryDirectory("as-of")
        let store = try StoreFixtures.createStore(in: directory)
        let recorder = DomainRecorder(store: SQLiteSyncBackend(store: store))
        var moments: [(Int64, String)] = []
        func capture() throws {
            moments.append((Timestamp.nowMillis(), try store.readModelDigest(.live)))
            // Stored times have millisecond resolution: let the clock pass the captured moment so
            // the next event is stored strictly after it.
            let moment = moments.last!.0
            while Timestamp.nowMillis() <= moment {}
        }
        try capture()
        try await recorder.run(.open(title: "Car wash", region: "West Yorkshire", category: nil, reference: nil), caseID: "WY-1", Self.context("2016-03-01"))
        try capture()
        try await recorder.run(.changeStatus(.investigating), caseID: "WY-1", Self.context("2016-03-05"))
        try await recorder.run(.assign(owner: "DS Patel"), caseID: "WY-1", Self.context("2016-03-06"))
        try capture()
        try await recorder.run(.close(outcome: "no further action"), caseID: "WY-1", Self.context("2016-06-01"))
        try capture()
        for (moment, digest) in moments {
            #expect(try store.readModelDigest(.asOf(moment)) == digest)
        }
        #expect(Set(moments.map(\.1)).count == moments.count)
        // As of a moment, a stream's record is what it was then.
        let then = try #require(try store.record(of: StreamKind.case.stream("WY-1"), .asOf(moments[2].0))?.caseRecord)
        #expect(then.status == .investigating && then.owner == "DS Patel")
    }

    @Test func validAtFoldsOnlyWhatHadHappenedInTheWorldByThen() async throws {
        let directory = try TemporaryDirectory("valid-at")
        let store = try StoreFixtures.createStore(in: directory)
        try await Self.recordScenario(store)
        let march = try store.queryReadModels(.validAt(Timestamp.parse("2016-03-31")), sql: "SELECT status FROM {schema}.cases", [])
        #expect(march.rows == [[.text("open")]])
        let actions = try store.queryReadModels(.validAt(Timestamp.parse("2016-04-30")), sql: "SELECT status FROM {schema}.actions", [])
        #expect(actions.rows == [[.text("open")]])
    }
}

/// Each read-model table, row by row, from one small history.
struct ReadModelTableTests {
    @Test func everyTableHoldsWhatTheEventsSay() async throws {
        let directory = try TemporaryDirectory("tables")
        let store = try StoreFixtures.createStore(in: directory)
        let recorder = DomainRecorder(store: SQLiteSyncBackend(store: store))
        let day = DomainRecorder.Context(actor: "sec", occurredAt: try Timestamp.parse("2016-03-09T10:00:00Z"))
        try await recorder.run(.schedule(title: "First", at: Timestamp.parse("2016-03-09T10:30:00Z"), location: "London", host: "HO"), meetingID: "M1", day)
        try await recorder.run(.attend(name: "Chair", role: "chair", organisation: "WY"), meetingID: "M1", day)
        try await recorder.run(.agenda(title: "Terms"), meetingID: "M1", day)
        try await recorder.run(.agenda(title: "Training"), meetingID: "M1", day)
        try await recorder.run(.decide(decisionID: "D1", text: "Agreed", proposedBy: "Chair"), meetingID: "M1", day)
        try await recorder.run(.minutes(summary: "Short"), meetingID: "M1", day)
        try await recorder.run(.open(title: "Car wash", region: "WY", category: "labour exploitation", reference: "REF-1"), caseID: "C1", day)
        try await recorder.run(.note("Seen"), caseID: "C1", day)
        try await recorder.run(.link(otherCase: "GM-1", relation: "same suspects"), caseID: "C1", day)
        try await recorder.run(.raise(title: "Report", owner: "Leads", due: "2016-06-30", decisionID: "D1", caseID: "C1"), actionID: "A1", day)
        try await recorder.run(.progress(note: "Half done"), actionID: "A1", day)
        try await recorder.run(.changeDue("2016-07-31"), actionID: "A1", day)
        try await recorder.run(.reassign(owner: "Hub"), actionID: "A1", day)
        func rows(_ sql: String) throws -> [[SQLValue]] { try store.queryReadModels(.live, sql: sql, []).rows }
        let at = SQLValue.text("2016-03-09T10:00:00.000Z")
        #expect(try rows("SELECT title, at, location, host, status, minutes, attendee_count, decision_count FROM {schema}.meetings") ==
            [[.text("First"), .text("2016-03-09T10:30:00.000Z"), .text("London"), .text("HO"), .text("scheduled"), .text("Short"), .integer(1), .integer(1)]])
        #expect(try rows("SELECT name, role, organisation FROM {schema}.attendees") == [[.text("Chair"), .text("chair"), .text("WY")]])
        #expect(try rows("SELECT item_no, title FROM {schema}.agenda_items ORDER BY item_no") == [[.integer(1), .text("Terms")], [.integer(2), .text("Training")]])
        #expect(try rows("SELECT decision_id, text, proposed_by, decided_at, recorded_by FROM {schema}.decisions") == [[.text("D1"), .text("Agreed"), .text("Chair"), at, .text("sec")]])
        #expect(try rows("SELECT reference, status, note_count, link_count FROM {schema}.cases") == [[.text("REF-1"), .text("open"), .integer(1), .integer(1)]])
        #expect(try rows("SELECT note, actor FROM {schema}.case_notes") == [[.text("Seen"), .text("sec")]])
        #expect(try rows("SELECT other_case_id, relation FROM {schema}.case_links") == [[.text("GM-1"), .text("same suspects")]])
        #expect(try rows("SELECT owner, due_date, status, decision_id, case_id, progress_count FROM {schema}.actions") ==
            [[.text("Hub"), .text("2016-07-31"), .text("open"), .text("D1"), .text("C1"), .integer(1)]])
        #expect(try rows("SELECT note FROM {schema}.action_progress") == [[.text("Half done")]])
        #expect(try rows("SELECT count(*) FROM {schema}.conflicts") == [[.integer(0)]])
        #expect(try rows("SELECT action_id FROM {schema}.overdue_actions") == [[.text("A1")]])
    }
}
