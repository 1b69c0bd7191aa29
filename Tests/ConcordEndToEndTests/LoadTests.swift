import ConcordClient
import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Logging
import Testing

/// Many peers syncing with one hub at once, for a bounded time: every sync succeeds, no event is
/// lost, and the latency of a sync (pull then push) is reported as p50/p99 (docs/reliability.md).
///
/// CI runs 6 peers for 4 seconds; `scripts/load-test.sh` runs 50 peers for 60 seconds.
struct LoadTests {
    static var peers: Int { ProcessInfo.processInfo.environment["CONCORD_LOAD_PEERS"].flatMap(Int.init) ?? 6 }
    static var seconds: Int { ProcessInfo.processInfo.environment["CONCORD_LOAD_SECONDS"].flatMap(Int.init) ?? 4 }

    struct PeerResult: Sendable {
        var latencies: [Duration] = []
        var appended = 0
        var errors: [String] = []
    }

    @Test func manyPeersSyncWithOneHubWithoutErrorsOrLoss() async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("load")
        let hubPath = directory.file("hub.sqlite")
        #expect(try concord.run(["init", "--node", "hub", "--store", hubPath]).status == 0)
        let server = try ServerProcess(concord, store: hubPath, extraArguments: ["--durability", "normal"])
        defer { server.stop() }
        var peers: [(SQLiteEventStore, String)] = []
        for index in 0..<Self.peers {
            let store = try StoreFixtures.createStore(in: directory, name: "peer\(index).sqlite", node: "peer-\(index)")
            let token = String(try concord.run(["token", "issue", "peer-\(index)", "--store", hubPath]).stdout.split(separator: "\n").last ?? "")
            peers.append((store, token))
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
                            let driver = SyncDriver(client: client, local: SQLiteSyncBackend(store: store), peerName: "hub", logger: logger)
                            var round = 0
                            repeat {
                                round += 1
                                try await store.append([try StoreFixtures.draft("case:LOAD-\(index)", "case.note-added", data: .object(["note": .string("round \(round)")]))])
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
                _ = try await SyncDriver(client: client, local: SQLiteSyncBackend(store: store), peerName: "hub", logger: logger).run()
            }
        }
        let errors = results.flatMap(\.errors)
        let appended = results.map(\.appended).reduce(0, +)
        let latencies = results.flatMap(\.latencies).sorted()
        #expect(errors.isEmpty, "\(errors.count) sync error(s), first: \(errors.first ?? "")")
        #expect(!latencies.isEmpty)
        let hub = try SQLiteEventStore.open(at: hubPath, logger: logger)
        let held = try hub.eventCount()
        #expect(held == Int64(appended), "the hub holds \(held) of \(appended) appended events")
        let hubVector = try hub.versionVector()
        for (store, _) in peers { #expect(try store.versionVector() == hubVector) }
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.1f ms", Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000)
        }
        print("load: \(Self.peers) peers for \(Self.seconds) s: \(latencies.count) syncs, \(errors.count) errors, \(appended) events appended and all held by the hub; sync latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1.0))")
    }
}
