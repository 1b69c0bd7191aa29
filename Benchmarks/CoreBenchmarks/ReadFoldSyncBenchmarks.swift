// Reads (by stream, by position), projection folds and sync batch encoding/decoding with
// compression. Each iteration handles 1000 events (`scalingFactor: .kilo`), so figures read per
// event, like the benchmarks in CoreBenchmarks.swift.

import Benchmark
import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordSQLite
import ConcordSyncProtocol
import ConcordZlib

/// 50 cases of 20 events each (opened, then notes, status changes and an owner), all chained by
/// one origin: the shape of the standard workload's cases.
struct CaseCommit {
    static let casesPerCommit = 50
    static let eventsPerCase = 20

    let key: NodeKey
    let events: [Event]
    let seal: Seal

    init() throws {
        let key = NodeKey()
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        var events: [Event] = []
        events.reserveCapacity(Self.casesPerCommit * Self.eventsPerCase)
        for caseNumber in 0..<Self.casesPerCommit {
            let reference = "WY-2016-\(1000 + caseNumber)"
            let stream = try StreamID("case:\(reference)")
            var prev: [EventID] = []
            for index in 0..<Self.eventsPerCase {
                let domainEvent: DomainEvent =
                    switch index {
                    case 0: .caseOpened(reference: reference, title: "Suspected forced labour at a car wash", region: "West Yorkshire", category: "labour")
                    case 5: .caseOwnerAssigned(owner: "DS Patel")
                    case 10: .caseStatusChanged(status: .investigating)
                    default: .caseNoteAdded(note: "Visit to the address; two workers interviewed with an interpreter, payslips seen")
                    }
                let draft = try EventDraft(
                    stream: stream, type: EventType(domainEvent.typeName), data: domainEvent.data,
                    actor: "PC Evans", occurredAt: baseMillis + Int64(index) * 60_000
                )
                let event = chain.append(
                    draft, hlc: HLCTimestamp(wallMillis: baseMillis + Int64(caseNumber), counter: UInt16(index)),
                    recordedAt: baseMillis, prev: prev
                )
                prev = [event.id]
                events.append(event)
            }
        }
        self.key = key
        self.events = events
        self.seal = chain.sealHead()
    }

    var batch: IngestBatch {
        IngestBatch(keys: [OriginKey(origin: key.origin, publicKey: key.publicKey)], events: events, seals: [seal])
    }
}

func readFoldSyncBenchmarks() {
    // 6. Reads from a store of 1000 events in one stream: by stream and by log position.

    let readStore = StoreFixture(durability: .normal)
    let readStream = try! StreamID("case:WY-2016-0012")
    Benchmark("SQLite read: 1000 events of one stream (readStream)") { benchmark in
        blackHole(try readStore.store!.readStream(readStream, afterVersion: 0, limit: eventsPerCommit))
    } setup: {
        try readStore.open()
        try readStore.store!.append(Array(repeating: try makeDraft(), count: eventsPerCommit))
    } teardown: {
        readStore.close()
    }

    let logStore = StoreFixture(durability: .normal)
    Benchmark("SQLite read: 1000 events by position (readLog)") { benchmark in
        blackHole(try logStore.store!.readLog(afterPosition: 0, limit: eventsPerCommit))
    } setup: {
        try logStore.open()
        try logStore.store!.append(Array(repeating: try makeDraft(), count: eventsPerCommit))
    } teardown: {
        logStore.close()
    }

    // 7. Projection fold: 50 cases of 20 events into records, then into read-model rows.

    Benchmark("Projection fold: 50 cases of 20 events into read-model rows") { benchmark, commit in
        var rowCount = 0
        for start in stride(from: 0, to: commit.events.count, by: CaseCommit.eventsPerCase) {
            let events = Array(commit.events[start..<start + CaseCommit.eventsPerCase])
            let stream = events[0].stream
            rowCount += ReadModelRows.rows(stream: stream, record: StreamFolder.fold(stream, events: events)).rowCount
        }
        blackHole(rowCount)
    } setup: {
        try CaseCommit()
    }

    // 8. Sync batches: exchange NDJSON + zlib level 6 (what a pull response carries), and back:
    //    inflate within limits + BatchReader into events (what the puller does before verifying).

    Benchmark("Sync batch encode: 1000 events to NDJSON + deflate level 6") { benchmark, commit in
        let body = Array(BatchWriter.lines(commit.batch).utf8)
        blackHole(Zlib.compress(body, format: .deflate))
    } setup: {
        try CaseCommit()
    }

    // 8b. The deflate level of pull answers, chosen by measurement: CPU per event against the
    //     compressed bytes (the custom metric: bytes of the 1000 events' compact lines compressed).
    let compressedBytes = BenchmarkMetric.custom("bytes per 1000 events", polarity: .prefersSmaller, useScalingFactor: false)
    for level: Int32 in [1, 3, 6, 9] {
        Benchmark(
            "Sync batch deflate only: 1000 exchange lines at level \(level)",
            // Some 24 mallocs an iteration, all of them fixed (zlib's state and one output buffer
            // sized by deflateBound): 5% is one malloc, which another thread of the process
            // makes now and then (CI read 26 at level 6 with no change to the code). A change to
            // the code adds at least one a call; four is the tolerance.
            configuration: .init(
                metrics: Benchmark.defaultConfiguration.metrics + [compressedBytes],
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: 4])]
            )
        ) { benchmark, body in
            let compressed = Zlib.compress(body, format: .deflate, level: level)
            benchmark.measurement(compressedBytes, compressed.count)
        } setup: {
            // The lines as a pull answer carries them (compact: no hash, commitment or prevHash).
            Array(BatchWriter.lines(try CaseCommit().batch, compact: true).utf8)
        }
    }

    Benchmark("Sync batch decode: inflate + BatchReader of 1000 events") { benchmark, compressed in
        var reader = BatchReader(limits: SyncLimits())
        let inflater = Inflater(format: .deflate)
        try inflater.feed(compressed) { try reader.feed($0) }
        try inflater.finish()
        blackHole(try reader.finish())
    } setup: {
        Zlib.compress(Array(BatchWriter.lines(try CaseCommit().batch).utf8), format: .deflate)
    }
}
