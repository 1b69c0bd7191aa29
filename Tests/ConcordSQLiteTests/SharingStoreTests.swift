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
