import ConcordClient
import ConcordCore
import ConcordInMemory
import ConcordPostgres
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Many peers syncing with one hub at once, for a bounded time: every sync succeeds, no event is
/// lost, and the latency of a sync (pull then push) is reported as p50/p99 (docs/reliability.md).
///
/// CI runs 6 peers for 4 seconds; `scripts/load-test.sh` runs 50 peers for 60 seconds. The hub is
/// a SQLite file, and (when `$CONCORD_TEST_POSTGRES_URL` names a server) PostgreSQL: both are
/// measured in one run, one after the other, with the same peers' workload.
@Suite(.serialized) struct LoadTests {
    enum Hub: String, CustomTestStringConvertible, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }
        static var underTest: [Hub] { PostgresTestDatabase.server == nil ? [.sqlite] : [.sqlite, .postgres] }
    }

    static var peers: Int { ProcessInfo.processInfo.environment["CONCORD_LOAD_PEERS"].flatMap(Int.init) ?? 6 }
    static var seconds: Int { ProcessInfo.processInfo.environment["CONCORD_LOAD_SECONDS"].flatMap(Int.init) ?? 4 }

    struct PeerResult: Sendable {
        var latencies: [Duration] = []
        var appended = 0
        var errors: [String] = []
    }

    @Test(arguments: Hub.underTest)
    func manyPeersSyncWithOneHubWithoutErrorsOrLoss(_ hub: Hub) async throws {
        switch hub {
        case .sqlite:
            let directory = try TemporaryDirectory("load")
            try await run(hubStore: directory.file("hub.sqlite"), in: directory, label: "SQLite hub") { path in
                Int(try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger).eventCount())
            }
        case .postgres:
            let directory = try TemporaryDirectory("load-pg")
            try await PostgresTestDatabase.with { location in
                try await run(hubStore: location.description, in: directory, label: "PostgreSQL hub") { _ in
                    let store = try await PostgresEventStore.open(location, logger: StoreFixtures.quietLogger)
                    let count = try await store.eventCount()
                    await store.close()
                    return count
                }
            }
        }
    }

    func run(hubStore hubPath: String, in directory: TemporaryDirectory, label: String, heldByHub: (String) async throws -> Int) async throws {
        let concord = try ConcordExecutable.locate()
        let isPostgres = PostgresLocation.isURL(hubPath)
        #expect(try concord.run(["init", "--node", "hub", "--store", hubPath] + (isPostgres ? ["--hub", "--share-default", "full"] : [])).status == 0)
        let server = try ServerProcess(concord, store: hubPath, extraArguments: isPostgres ? [] : ["--durability", "normal"])
        defer { server.stop() }
        // Peers hold their record in memory and write their own events through an origin chain:
        // the hub sees what 50 regional nodes send, while the peers cost little of the 2 cores.
        var peers: [(LightPeer, String)] = []
        for index in 0..<Self.peers {
            let token = String(try concord.run(["token", "issue", "peer-\(index)", "--store", hubPath]).stdout.split(separator: "\n").last ?? "")
            peers.append((LightPeer(name: "peer-\(index)"), token))
        }
        let seconds = Self.seconds
        let url = server.url
        let logger = StoreFixtures.quietLogger

        let results = await withTaskGroup(of: PeerResult.self) { group in
            for (index, (store, token)) in peers.enumerated() {
                group.addTask {
                    var result = PeerResult()
                    // Each peer's own clock starts when it does, and every peer syncs at least once.
                    let deadline = ContinuousClock.now + .seconds(seconds)
                    do {
                        try await SyncClient.withSyncClient(baseURL: url, token: token) { client in
                            let driver = SyncDriver(client: client, local: store.store, peerName: "hub", logger: logger)
                            var round = 0
                            repeat {
                                round += 1
                                try await store.append(try StoreFixtures.draft("case:LOAD-\(index)", "case.note-added", data: .object(["note": .string("round \(round)")])))
                                result.appended += 1
                                let started = ContinuousClock.now
                                do {
                                    _ = try await driver.run()
                                    result.latencies.append(ContinuousClock.now - started)
                                } catch {
                                    result.errors.append("\(error)")
                                }
                            } while ContinuousClock.now < deadline
                        }
                    } catch {
                        result.errors.append("\(error)")
                    }
                    return result
                }
            }
            var all: [PeerResult] = []
            for await result in group { all.append(result) }
            return all
        }

        // Quiet now: one more round each, so every peer has everything every other pushed.
        for (store, token) in peers {
            try await SyncClient.withSyncClient(baseURL: url, token: token) { client in
                _ = try await SyncDriver(client: client, local: store.store, peerName: "hub", logger: logger).run()
            }
        }
        let errors = results.flatMap(\.errors)
        let appended = results.map(\.appended).reduce(0, +)
        let latencies = results.flatMap(\.latencies).sorted()
        #expect(errors.isEmpty, "\(errors.count) sync error(s), first: \(errors.first ?? "")")
        #expect(!latencies.isEmpty)
        let held = try await heldByHub(hubPath)
        #expect(held == appended, "the hub holds \(held) of \(appended) appended events")
        let first = try await peers[0].0.store.versionVector()
        #expect(first.eventCount == UInt64(appended))
        for (peer, _) in peers { #expect(try await peer.store.versionVector() == first) }
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.1f ms", Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000)
        }
        let throughput = String(format: "%.0f", Double(latencies.count) / Double(Self.seconds))
        print("load (\(label)): \(throughput) syncs/s; \(Self.peers) peers for \(Self.seconds) s: \(latencies.count) syncs, \(errors.count) errors, \(appended) events appended and all held by the hub; sync latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1.0))")
    }
}

/// A load-test peer: its record in memory (`InMemoryStore`, the same verification as every
/// store), its own events written by an origin chain of its key, each sealed.
final class LightPeer: Sendable {
    let store: InMemoryStore
    private let chain: Mutex<OriginChain>
    private let key = NodeKey()

    init(name: String) {
        store = InMemoryStore(nodeName: name)
        chain = Mutex(OriginChain(key: key, lastSeq: 0, lastHash: .genesis))
    }

    func append(_ draft: EventDraft) async throws {
        let now = Timestamp.nowMillis()
        let (event, seal) = chain.withLock { chain in
            let event = chain.append(draft, hlc: HLCTimestamp(wallMillis: now, counter: UInt16(chain.lastSeq % 60_000)), recordedAt: now, prev: [])
            return (event, chain.sealHead())
        }
        _ = try await store.ingest(IngestBatch(keys: [key.originKey], events: [event], seals: [seal]), source: "own", policy: .allOrNothing)
    }
}
