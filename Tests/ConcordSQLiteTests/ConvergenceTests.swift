import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Invariant 4: nodes holding the same events have identical read models, whatever the order.
struct ConvergenceTests {
    typealias Context = DomainRecorder.Context

    /// Three regional nodes: the hub opens a case and schedules a meeting; the others learn them,
    /// then all three edit the same case and meeting while apart.
    static func divergentNodes(in directory: TemporaryDirectory) async throws -> [SQLiteEventStore] {
        let nodes = try (0..<3).map { try StoreFixtures.createStore(in: directory, name: "node\($0).sqlite", node: "node-\($0)") }
        let hub = DomainRecorder(store: SQLiteSyncBackend(store: nodes[0]))
        let day = Context(actor: "hub", occurredAt: 1_457_519_400_000)
        try await hub.run(.open(title: "County lines", region: "West Midlands", category: "criminal exploitation", reference: nil), caseID: "WM-1", day)
        try await hub.run(.schedule(title: "Regional meeting", at: 1_460_000_000_000, location: "Birmingham", host: nil), meetingID: "WM-M1", day)
        for node in nodes.dropFirst() { try await copyAll(from: nodes[0], to: node) }
        let statuses: [CaseStatus] = [.investigating, .referred, .charged]
        for (index, node) in nodes.enumerated() {
            let recorder = DomainRecorder(store: SQLiteSyncBackend(store: node))
            let context = Context(actor: "officer-\(index)", occurredAt: 1_457_519_400_000 + Int64(index) * 60_000)
            try await recorder.run(.changeStatus(statuses[index]), caseID: "WM-1", context)
            try await recorder.run(.note("Seen by node \(index)"), caseID: "WM-1", context)
            try await recorder.run(.attend(name: "Officer \(index)", role: nil, organisation: nil), meetingID: "WM-M1", context)
            try await recorder.run(.open(title: "Case of node \(index)", region: "Region \(index)", category: nil, reference: nil), caseID: "N\(index)-1", context)
        }
        return nodes
    }

    static func copyAll(from source: SQLiteEventStore, to target: SQLiteEventStore) async throws {
        try await LogExport.forEachBatch(of: SQLiteSyncBackend(store: source)) { batch in _ = try target.ingest(batch) }
        try target.catchUpProjections()
    }

    /// Every event and seal of the given stores, grouped per origin in seq order.
    static func everything(_ stores: [SQLiteEventStore]) throws -> (keys: [OriginKey], origins: [[Event]], seals: [Seal]) {
        var keys: [OriginID: OriginKey] = [:]
        var events: [OriginID: [Event]] = [:]
        var seals: [Seal] = []
        for store in stores {
            for key in try store.originKeys() { keys[key.origin] = key }
            for origin in try store.eventOrigins() where events[origin] == nil {
                events[origin] = try store.readOrigin(origin, afterSeq: 0, limit: 100_000).map(\.event)
                seals += try store.seals(of: origin)
            }
        }
        return (Array(keys.values), events.keys.sorted().map { events[$0]! }, seals)
    }

    @Test func concurrentEditsConvergeToOneDigestWithTheConflictListedEverywhere() async throws {
        let directory = try TemporaryDirectory("converge")
        let nodes = try await Self.divergentNodes(in: directory)
        // Full mesh exchange, in different directions.
        for source in nodes { for target in nodes where target !== source { try await Self.copyAll(from: source, to: target) } }
        let digests = try nodes.map { try $0.readModelDigest(.live) }
        #expect(Set(digests).count == 1)
        for node in nodes {
            let conflicts = try node.queryReadModels(.live, sql: "SELECT stream, field, chosen FROM {schema}.conflicts", [])
            #expect(conflicts.rows == [[.text("case:WM-1"), .text("status"), .text("charged")]])
            #expect(try LogVerifier.verify(node).isValid)
        }
    }

    @Test func anyArrivalOrderGivesTheSameDigest() async throws {
        let directory = try TemporaryDirectory("orders")
        let nodes = try await Self.divergentNodes(in: directory)
        let all = try Self.everything(nodes)
        var reference: String?
        var generator = SeededRandom(seed: 2016)
        for round in 0..<12 {
            let target = try StoreFixtures.createStore(in: directory, name: "order\(round).sqlite", node: "replica")
            // Interleave origins at random, in random chunk sizes; each origin stays in seq order.
            var cursors = Array(repeating: 0, count: all.origins.count)
            while cursors.enumerated().contains(where: { $0.element < all.origins[$0.offset].count }) {
                let open = cursors.indices.filter { cursors[$0] < all.origins[$0].count }
                let origin = open.randomElement(using: &generator)!
                let take = Int.random(in: 1...3, using: &generator)
                let chunk = Array(all.origins[origin][cursors[origin]..<min(cursors[origin] + take, all.origins[origin].count)])
                cursors[origin] += chunk.count
                try target.ingest(IngestBatch(keys: all.keys, events: chunk, seals: all.seals.filter { seal in chunk.contains { $0.id == EventID(origin: seal.origin, seq: seal.seq) } }))
                // Read models catch up at arbitrary points too, not only at the end.
                if Bool.random(using: &generator) { try target.catchUpProjections() }
            }
            let digest = try target.readModelDigest(.live)
            if let reference { #expect(digest == reference, "round \(round)") } else { reference = digest }
        }
        for node in nodes { for target in nodes where target !== node { try await Self.copyAll(from: node, to: target) } }
        #expect(try nodes[0].readModelDigest(.live) == reference)
    }
}
