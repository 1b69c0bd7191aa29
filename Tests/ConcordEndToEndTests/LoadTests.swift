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
/// a SQLite file, and (when `$CONCORD_TEST_POSTGRES_URL` names a server) PostgreSQL served by one
/// `concord serve` process, then by two on the same database (peers split between them): all
/// measured in one run, one after the other, with the same peers' workload, each reporting its
/// syncs/s, p50 and p99, and the CPU time a sync cost the hub (its processes and, for
/// PostgreSQL, the database server's).
@Suite(.serialized) struct LoadTests {
    enum Hub: String, CustomTestStringConvertible, Sendable {
        case sqlite, postgres, postgresTwoProcesses
        var testDescription: String { rawValue }
        static var underTest: [Hub] { PostgresTestDatabase.server == nil ? [.sqlite] : [.sqlite, .postgres, .postgresTwoProcesses] }
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
        case .postgres, .postgresTwoProcesses:
            let directory = try TemporaryDirectory("load-pg")
            let processes = hub == .postgres ? 1 : 2
            try await PostgresTestDatabase.with { location in
                try await run(hubStore: location.description, in: directory, label: "PostgreSQL hub, \(processes) process(es)", processes: processes) { _ in
                    let store = try await PostgresEventStore.open(location, logger: StoreFixtures.quietLogger)
                    let count = try await store.eventCount()
                    await store.close()
                    return count
                }
            }
        }
    }

    func run(hubStore hubPath: String, in directory: TemporaryDirectory, label: String, processes: Int = 1, heldByHub: (String) async throws -> Int) async throws {
        let concord = try ConcordExecutable.locate()
        let isPostgres = PostgresLocation.isURL(hubPath)
        #expect(try concord.run(["init", "--node", "hub", "--store", hubPath] + (isPostgres ? ["--hub", "--share-default", "full"] : [])).status == 0)
        let servers = try (0..<processes).map { _ in try ServerProcess(concord, store: hubPath, extraArguments: isPostgres ? [] : ["--durability", "normal"]) }
        defer { for server in servers { server.stop() } }
        // Peers hold their record in memory and write their own events through an origin chain:
        // the hub sees what 50 regional nodes send, while the peers cost little of the 2 cores.
        var peers: [(LightPeer, String)] = []
        for index in 0..<Self.peers {
            let token = String(try concord.run(["token", "issue", "peer-\(index)", "--store", hubPath]).stdout.split(separator: "\n").last ?? "")
            peers.append((LightPeer(name: "peer-\(index)"), token))
        }
        let seconds = Self.seconds
        let urls = servers.map(\.url)
        let logger = StoreFixtures.quietLogger
        // CPU time of the hub's processes and of the database server's, before and after.
        func hubCPU() -> (hub: Double, database: Double) {
            (servers.map { ProcessCPU.seconds(of: $0.pid) }.reduce(0, +), isPostgres ? ProcessCPU.seconds(ofProcessesNamed: "postgres") : 0)
        }
        let cpuBefore = hubCPU()

        let results = await withTaskGroup(of: PeerResult.self) { group in
            for (index, (store, token)) in peers.enumerated() {
                // Peers split between the hub's processes, in turn.
                let url = urls[index % urls.count]
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

        let cpuAfter = hubCPU()
        // Quiet now: one more round each, so every peer has everything every other pushed.
        for (index, (store, token)) in peers.enumerated() {
            try await SyncClient.withSyncClient(baseURL: urls[index % urls.count], token: token) { client in
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
        let syncs = Double(max(latencies.count, 1))
        let cpu = String(
            format: "CPU a sync: hub %.2f ms + database %.2f ms", (cpuAfter.hub - cpuBefore.hub) * 1000 / syncs, (cpuAfter.database - cpuBefore.database) * 1000 / syncs
        )
        print("load (\(label)): \(throughput) syncs/s; \(Self.peers) peers for \(Self.seconds) s: \(latencies.count) syncs, \(errors.count) errors, \(appended) events appended and all held by the hub; sync latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1.0)); \(cpu)")
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

/// CPU time (user and system) of processes, from /proc: the hub's share of the machine.
enum ProcessCPU {
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func seconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticks
    }

    static func seconds(ofProcessesNamed name: String) -> Double {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.map(seconds(of:)).reduce(0, +)
    }
}
