import ConcordCore
import ConcordSyncProtocol
import Testing

/// A node's log in memory, as `MissingRuns` reads it.
final class MemorySource: BatchSource, @unchecked Sendable {
    struct Log {
        var key: OriginKey
        var events: [Event] = []
        var seals: [Seal] = []
    }

    var logs: [OriginID: Log] = [:]

    /// Appends `count` events to a new or existing origin of `key`, sealing every `sealEvery` and at the end.
    func write(_ key: NodeKey, _ count: Int, sealEvery: Int = 1000, sealAtEnd: Bool = true, payloadBytes: Int = 10) throws {
        var log = logs[key.origin] ?? Log(key: key.originKey)
        var chain = OriginChain(key: key, lastSeq: UInt64(log.events.count), lastHash: log.events.last?.hash ?? .genesis)
        for index in 1...count {
            let draft = try EventDraft(stream: StreamID("case:M-1"), type: EventType("case.note-added"), data: .object(["note": .string(String(repeating: "x", count: payloadBytes))]), actor: "a", occurredAt: 0)
            log.events.append(chain.append(draft, hlc: HLCTimestamp(wallMillis: 1000 + Int64(log.events.count)), recordedAt: 0, prev: []))
            if index % sealEvery == 0 { log.seals.append(chain.sealHead()) }
        }
        if sealAtEnd, log.seals.last?.seq != chain.lastSeq { log.seals.append(chain.sealHead()) }
        logs[key.origin] = log
    }

    func versionVector() throws -> VersionVector { VersionVector(logs.mapValues { UInt64($0.events.count) }) }
    func originKey(_ origin: OriginID) throws -> OriginKey? { logs[origin]?.key }
    func eventHash(_ origin: OriginID, seq: UInt64) throws -> EventHash? {
        guard let log = logs[origin], seq >= 1, seq <= UInt64(log.events.count) else { return nil }
        return log.events[Int(seq) - 1].hash
    }
    func nextSeal(of origin: OriginID, after seq: UInt64) throws -> Seal? { logs[origin]?.seals.first { $0.seq > seq } }
    func events(of origin: OriginID, after: UInt64, through: UInt64) throws -> [Event] {
        logs[origin]?.events.filter { $0.seq > after && $0.seq <= through } ?? []
    }
    func nextHeldSeq(of origin: OriginID, after seq: UInt64) throws -> UInt64? {
        logs[origin]?.events.first { $0.seq > seq }?.seq
    }
}

struct MissingRunsTests {
    let a = NodeKey(), b = NodeKey()

    func origins(_ keys: NodeKey...) -> [OriginID] { keys.map(\.origin) }

    @Test func runsComeInOriginOrderEachEndingOnASealWithinTheBudget() async throws {
        let source = MemorySource()
        try source.write(a, 25, sealEvery: 5)
        try source.write(b, 3)
        let first = [a.origin, b.origin].min()!
        var runs = try await MissingRuns(source: source, have: VersionVector(), budget: BatchBudget(maxEvents: 12, maxBytes: 1 << 20))
        let batch = try await runs.batch()
        // Two runs of 5 fit 12 events, a third would not.
        let firstRuns = batch.events.filter { $0.origin == first }
        #expect(runs.more)
        #expect(batch.keys.count == Set(batch.events.map(\.origin)).count, "one key line per origin sent")
        for origin in Set(batch.events.map(\.origin)) {
            let last = batch.events.filter { $0.origin == origin }.last!
            #expect(batch.seals.contains { $0.origin == origin && $0.seq == last.seq }, "each origin's part ends on a seal")
        }
        #expect(batch.events.count <= 12 && !firstRuns.isEmpty)
        // The rest, once the peer holds this batch.
        var rest = try await MissingRuns(source: source, have: VersionVector().adding(batch.events), budget: BatchBudget(maxEvents: 1000, maxBytes: 1 << 20))
        let second = try await rest.batch()
        #expect(!rest.more)
        #expect(batch.events.count + second.events.count == 28)
    }

    @Test func theByteBudgetBoundsABatchToo() async throws {
        let source = MemorySource()
        try source.write(a, 10, sealEvery: 1, payloadBytes: 1000)
        var runs = try await MissingRuns(source: source, have: VersionVector(), budget: BatchBudget(maxEvents: 1000, maxBytes: 5000))
        let batch = try await runs.batch()
        #expect(runs.more && runs.bytes <= 5000 && batch.events.count >= 1 && batch.events.count < 10)
        #expect(Array(BatchWriter.lines(batch).utf8).count == runs.bytes, "the weight counted is the bytes written")
    }

    @Test func aHeadThatDiffersIsAnsweredWithTheHeldEventThereAndItsRunOnly() async throws {
        let source = MemorySource()
        try source.write(a, 10, sealEvery: 2)
        let other = EventHash.sha256([9])
        var runs = try await MissingRuns(source: source, have: VersionVector([a.origin: 5]), heads: [a.origin: other], budget: BatchBudget(maxEvents: 1000, maxBytes: 1 << 20))
        let batch = try await runs.batch()
        #expect(batch.events.map(\.seq) == [5, 6])
        #expect(runs.mismatched == [a.origin: 5])
        // The same hash as held: the usual continuation.
        var usual = try await MissingRuns(source: source, have: VersionVector([a.origin: 5]), heads: [a.origin: try source.eventHash(a.origin, seq: 5)!], budget: BatchBudget(maxEvents: 1000, maxBytes: 1 << 20))
        await #expect(try usual.batch().events.map(\.seq) == [6, 7, 8, 9, 10])
    }

    @Test func aPeerAheadGetsOurHeadToCompareExcludedOriginsNothingAndProofRunsOneRun() async throws {
        let source = MemorySource()
        try source.write(a, 4, sealEvery: 2)
        try source.write(b, 4, sealEvery: 2)
        var runs = try await MissingRuns(source: source, have: VersionVector([a.origin: 9]), exclude: [b.origin], proofRuns: [a.origin: 3], budget: BatchBudget(maxEvents: 1000, maxBytes: 1 << 20))
        #expect(runs.headsForPeer == [:], "a is sent as a proof run, not compared")
        let batch = try await runs.batch()
        #expect(batch.events.map(\.seq) == [3, 4] && batch.events.allSatisfy { $0.origin == a.origin })
        var ahead = try await MissingRuns(source: source, have: VersionVector([a.origin: 9, b.origin: 4]), budget: BatchBudget(maxEvents: 1000, maxBytes: 1 << 20))
        #expect(ahead.headsForPeer == [a.origin: try source.eventHash(a.origin, seq: 4)!])
        await #expect(try ahead.batch().events.isEmpty)
    }

    @Test func aRunNoBatchCanCarryIsSetAsideAndTheOthersStillGo() async throws {
        let source = MemorySource()
        // An older release's long commit sealed only at its end, and an unsealed tail.
        try source.write(a, EventLimits.maxEventsPerSeal + 1, sealEvery: .max)
        try source.write(b, 3)
        try source.write(b, 2, sealAtEnd: false)
        var runs = try await MissingRuns(source: source, have: VersionVector(), budget: BatchBudget(maxEvents: 5000, maxBytes: 64 << 20))
        let batch = try await runs.batch()
        #expect(batch.events.map(\.origin) == Array(repeating: b.origin, count: 3))
        #expect(Set(runs.setAside.map(\.origin)) == [a.origin, b.origin])
        #expect(runs.setAside.first { $0.origin == a.origin }?.code == "too-large")
        #expect(runs.setAside.first { $0.origin == b.origin }?.message.contains("no seal covers") == true)
        #expect(!runs.more)
    }
}
