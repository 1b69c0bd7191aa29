import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Sharing rules resolved against what a store holds.
struct SharingStoreTests {
    func opened(_ id: String, region: String) throws -> EventDraft {
        try StoreFixtures.draft("case:\(id)", "case.opened", data: .object(["reference": .string(id), "title": .string("t"), "region": .string(region)]))
    }

    @Test func aCaseReopenedUnderAnotherRegionIsGrantedByNoRegionRule() async throws {
        let directory = try TemporaryDirectory("sharing")
        let north = try StoreFixtures.createStore(in: directory, name: "north.sqlite", node: "north")
        try await north.append([try opened("N-1", region: "North")])
        let hub = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        try hub.ingest(try await north.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
        try hub.addShareRule(peer: "north-peer", .region("North"))
        try hub.addShareRule(peer: "south-peer", .region("South"))
        let stream = try StreamID("case:N-1")
        #expect(try hub.sharingPolicy(for: "north-peer").decide(stream: stream).sendsOpening)
        // Another origin signs a second case.opened naming another region.
        let south = try StoreFixtures.createStore(in: directory, name: "south.sqlite", node: "south")
        try south.ingest(try await north.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
        try await south.append([try opened("N-1", region: "South")])
        try hub.ingest(try await south.missingBatch(have: try hub.versionVector(), maxEvents: 1000).batch)
        #expect(!(try hub.sharingPolicy(for: "south-peer").decide(stream: stream).sendsOpening))
        #expect(!(try hub.sharingPolicy(for: "north-peer").decide(stream: stream).sendsOpening))
    }

    func raised(_ id: String, case caseID: String? = nil, decision: String? = nil) throws -> EventDraft {
        var data: [String: JSONValue] = ["title": .string("Visit \(id)"), "owner": .string("GM PCC office")]
        if let caseID { data["caseId"] = .string(caseID) }
        if let decision { data["decisionId"] = .string(decision) }
        return try StoreFixtures.draft("action:\(id)", "action.raised", data: .object(data))
    }

    /// An action raised for a Greater Manchester case travels to the region's peer; a second
    /// `action.raised`, signed by another origin naming a West Yorkshire case, sends it to neither
    /// (it never reaches the peer the later writer chose).
    @Test func anActionRaisedAgainForAnotherCaseIsGrantedByNoRegionRule() async throws {
        let directory = try TemporaryDirectory("sharing-actions")
        let gm = try StoreFixtures.createStore(in: directory, name: "gm.sqlite", node: "gm")
        try await gm.append([try opened("GM-1", region: "Greater Manchester"), try opened("WY-1", region: "West Yorkshire"), try raised("A-1", case: "GM-1")])
        let hub = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        try hub.ingest(try await gm.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
        try hub.addShareRule(peer: "gm-peer", .region("Greater Manchester"))
        try hub.addShareRule(peer: "wy-peer", .region("West Yorkshire"))
        let action = try StreamID("action:A-1")
        #expect(try hub.sharingPolicy(for: "gm-peer").decide(stream: action).sendsOpening)
        #expect(!(try hub.sharingPolicy(for: "wy-peer").decide(stream: action).sendsOpening))
        let other = try StoreFixtures.createStore(in: directory, name: "other.sqlite", node: "other")
        try other.ingest(try await gm.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
        try await other.append([try raised("A-1", case: "WY-1")])
        try hub.ingest(try await other.missingBatch(have: try hub.versionVector(), maxEvents: 1000).batch)
        #expect(!(try hub.sharingPolicy(for: "wy-peer").decide(stream: action).sendsOpening))
        #expect(!(try hub.sharingPolicy(for: "gm-peer").decide(stream: action).sendsOpening))
        // What the hub sends wy-peer of the action: stubs only.
        let view = SharedView(source: SQLiteSyncBackend(store: hub), policy: try hub.sharingPolicy(for: "wy-peer"))
        let sent = try await view.events(of: try gm.nodeInfo().origin, after: 0, through: 10)
        #expect(sent.filter { $0.stream == action }.allSatisfy { $0.disclosure == .withheld })
    }

    /// Decision ids are unique only on the node that chose them: an action raised from a decision
    /// id that two meetings record is granted by neither meeting's rule.
    @Test func anActionFromADecisionIdTwoMeetingsUseIsGrantedByNoMeetingRule() async throws {
        let directory = try TemporaryDirectory("sharing-decisions")
        func scheduled(_ meeting: String) throws -> EventDraft {
            try StoreFixtures.draft("meeting:\(meeting)", "meeting.scheduled", data: .object(["title": .string(meeting), "at": .string("2016-03-09T10:30Z"), "location": .string("London")]))
        }
        func decided(_ meeting: String, _ decision: String) throws -> EventDraft {
            try StoreFixtures.draft("meeting:\(meeting)", "meeting.decision-recorded", data: .object(["decisionId": .string(decision), "text": .string("Agreed.")]))
        }
        let national = try StoreFixtures.createStore(in: directory, name: "national.sqlite", node: "national")
        try await national.append([try scheduled("NATN-1"), try decided("NATN-1", "D1"), try raised("A-1", decision: "D1")])
        let hub = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        try hub.ingest(try await national.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
        try hub.addShareRule(peer: "natn-peer", .meeting("NATN-1"))
        try hub.addShareRule(peer: "other-peer", .meeting("OTHER-1"))
        let action = try StreamID("action:A-1")
        #expect(try hub.sharingPolicy(for: "natn-peer").decide(stream: action).sendsOpening)
        // Another origin records a meeting with the same decision id.
        let other = try StoreFixtures.createStore(in: directory, name: "other.sqlite", node: "other")
        try await other.append([try scheduled("OTHER-1"), try decided("OTHER-1", "D1")])
        try hub.ingest(try await other.missingBatch(have: try hub.versionVector(), maxEvents: 1000).batch)
        #expect(!(try hub.sharingPolicy(for: "other-peer").decide(stream: action).sendsOpening))
        #expect(!(try hub.sharingPolicy(for: "natn-peer").decide(stream: action).sendsOpening))
    }

    @Test func learningACasesRegionAfterItsNotesMovesTheOpeningsNumberOnlyWithRegionRules() async throws {
        let directory = try TemporaryDirectory("sharing-widen")
        let north = try StoreFixtures.createStore(in: directory, name: "north.sqlite", node: "north")
        try await north.append([try opened("N-1", region: "North")])
        let other = try StoreFixtures.createStore(in: directory, name: "other.sqlite", node: "other")
        try other.ingest(try await north.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
        try await other.append([try StoreFixtures.draft("case:N-1")])
        // The hub gets the other origin's note first, then the case.opened it follows.
        let notesOnly = try await other.missingBatch(have: try north.versionVector(), maxEvents: 1000).batch
        for rules in [false, true] {
            let hub = try StoreFixtures.createStore(in: directory, name: "hub-\(rules).sqlite", node: "hub")
            if rules { try hub.addShareRule(peer: "east", .region("North")) }
            try hub.ingest(notesOnly)
            let before = try hub.openingsGeneration()
            try hub.ingest(try await north.missingBatch(have: VersionVector(), maxEvents: 1000).batch)
            #expect((try hub.openingsGeneration() != before) == rules, "with region rules: \(rules)")
        }
    }

    @Test func anOpeningInABatchWithAnAlteredHeaderIsRefused() async throws {
        let directory = try TemporaryDirectory("sharing-header")
        let north = try StoreFixtures.createStore(in: directory, name: "north.sqlite", node: "north")
        try await north.append([try opened("N-1", region: "North")])
        let full = try await north.missingBatch(have: VersionVector(), maxEvents: 1000).batch
        var stubs = full
        stubs.events = stubs.events.map { $0.stub! }
        let hub = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        try hub.ingest(stubs)
        // The real opening, under another stream: refused, and the stub stays a stub.
        var altered = full
        altered.events[0].stream = try StreamID("case:OTHER")
        #expect(throws: ConcordError.self) { try hub.ingest(altered) }
        #expect(try hub.readLog(afterPosition: 0, limit: 10).map(\.event.disclosure) == [.withheld])
        #expect(try hub.ingest(full).openingsStored == 1)
    }
}
