import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Testing

/// Strict trust mode: only origins on the roster, and the node's own, are accepted.
struct TrustRosterTests {
    let directory: TemporaryDirectory
    let region: SQLiteEventStore
    let hub: SQLiteEventStore

    init() throws {
        directory = try TemporaryDirectory("trust")
        region = try StoreFixtures.createStore(in: directory, name: "region.sqlite", node: "region")
        hub = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        try region.append([StoreFixtures.draft("case:WY-1")])
    }

    func regionBatch() async throws -> IngestBatch { try await region.missingBatch(have: VersionVector(), maxEvents: 100).batch }

    @Test func firstSightIsTheDefaultAndAcceptsAnyOriginWhoseKeyMatches() async throws {
        #expect(try hub.trustMode() == .firstSight)
        #expect(try await hub.ingest(regionBatch()).inserted == 1)
    }

    @Test func strictModeRefusesAnOriginNotOnTheRosterAndStoresNothing() async throws {
        try await hub.append([StoreFixtures.draft("case:HUB-1")])
        try hub.setTrustMode(.strict)
        let before = (try hub.versionVector(), try hub.eventCount(), try hub.originKeys().count)
        let origin = try region.nodeInfo().origin
        let batch = try await regionBatch()
        #expect {
            try hub.ingest(batch)
        } throws: { error in
            let error = error as? ConcordError
            return error?.code == .untrustedOrigin && error?.message.contains("concord trust add \(origin)") == true
        }
        #expect(try hub.versionVector() == before.0)
        #expect(try hub.eventCount() == before.1)
        #expect(try hub.originKeys().count == before.2)
        // An export starts with a batch of keys alone: those of origins off the roster are not kept.
        try hub.ingest(IngestBatch(keys: try region.originKeys()))
        #expect(try hub.originKeys().count == before.2)

        try hub.trust(origin, label: "west-yorkshire")
        #expect(try await hub.ingest(regionBatch()).inserted == 1)
        #expect(try hub.trustedOrigins().map(\.label) == ["west-yorkshire"])
    }

    @Test func strictModeAcceptsTheNodesOwnEventsComingBack() async throws {
        try region.setTrustMode(.strict)
        // The region's own events, relayed back by a hub, are always its own origin's.
        try await hub.ingest(regionBatch())
        try await hub.append([StoreFixtures.draft("case:WY-1")])
        let hubOrigin = try hub.nodeInfo().origin
        var regionHolds = try region.versionVector()
        #expect(regionHolds[hubOrigin] == 0)
        let fromHub = try await hub.missingBatch(have: VersionVector(), maxEvents: 100).batch
        #expect {
            try region.ingest(fromHub)
        } throws: { ($0 as? ConcordError)?.code == .untrustedOrigin }
        try region.trust(hubOrigin, label: "hub")
        #expect(try region.ingest(fromHub).inserted == 1)
        regionHolds = try region.versionVector()
        #expect(regionHolds[hubOrigin] == 1)
    }

    @Test func removingAnOriginRefusesItsNewEventsAgainAndKeepsTheOld() async throws {
        try hub.setTrustMode(.strict)
        let origin = try region.nodeInfo().origin
        try hub.trust(origin, label: "west-yorkshire")
        try await hub.ingest(regionBatch())
        #expect(try hub.distrust(origin))
        #expect(try !hub.distrust(origin))
        try await region.append([StoreFixtures.draft("case:WY-1")])
        let next = try await regionBatch()
        #expect {
            try hub.ingest(next)
        } throws: { ($0 as? ConcordError)?.code == .untrustedOrigin }
        #expect(try hub.eventCount() == 1)
    }

    @Test func anUnknownStoredModeCountsAsStrict() throws {
        try hub.withConnection("set") { state in
            try state.connection.execute("INSERT INTO settings (name, value) VALUES ('trust_mode', 'lenient')")
        }
        #expect(try hub.trustMode() == .strict)
    }
}
