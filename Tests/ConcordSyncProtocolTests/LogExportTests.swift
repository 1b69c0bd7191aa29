import ConcordCore
@testable import ConcordSyncProtocol
import Synchronization
import Testing

/// `LogExport` over logs as a damaged store may hold them: every event written once, in seq
/// order, and the walk bounded by the events held, not by the highest seq.
struct LogExportTests {
    /// One origin's events at the seqs given (a gap, a seq far out), counting the reads.
    final class SparseSource: BatchSource {
        let key = NodeKey()
        let held: [Event]
        let seals: [Seal]
        let reads = Mutex(0)

        init(seqs: [UInt64]) {
            var events: [Event] = []
            var previous = EventHash.genesis
            for seq in seqs {
                var chain = OriginChain(key: key, lastSeq: seq - 1, lastHash: previous)
                let draft = try! EventDraft(stream: try! StreamID("notes:x"), type: try! EventType("note.added"), data: .object(["n": .number("\(seq)")]), actor: "a", occurredAt: 0)
                let event = chain.append(draft, hlc: HLCTimestamp(wallMillis: 1, counter: 0), recordedAt: 1, prev: [])
                previous = event.hash
                events.append(event)
            }
            held = events
            seals = [OriginChain(key: key, lastSeq: events[1].seq, lastHash: events[1].hash).sealHead()]
        }

        func versionVector() async throws -> VersionVector { VersionVector([key.origin: held.last!.seq]) }
        func originKey(_ origin: OriginID) async throws -> OriginKey? { key.originKey }
        func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash? { held.first { $0.seq == seq }?.hash }
        func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal? { seals.first { $0.seq > seq } }
        func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event] {
            // A walk stepping through empty ranges would take for ever: it fails instead.
            guard reads.withLock({ $0 += 1; return $0 }) <= 100 else { throw ConcordError(.storage, "more than 100 reads") }
            return held.filter { $0.seq > after && $0.seq <= through }
        }
        func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64? { held.first { $0.seq > seq }?.seq }
    }

    // Ten minutes: a stop for a loop that never ends, with room for a full suite that keeps
    // the cooperative threads busy.
    @Test(.timeLimit(.minutes(10))) func aSeqFarOutIsReachedInAFewReadsAndEveryEventIsWrittenOnce() async throws {
        let source = SparseSource(seqs: [1, 2, 5, 1_000_000_000_000_000])
        var written: [UInt64] = []
        var seals: [UInt64] = []
        try await LogExport.forEachBatch(of: source, batchSize: 2) { batch in
            written += batch.events.map(\.seq)
            seals += batch.seals.map(\.seq)
        }
        #expect(written == [1, 2, 5, 1_000_000_000_000_000])
        #expect(seals == [2])
        #expect(source.reads.withLock { $0 } <= 8, "the walk stepped through empty ranges")
    }
}
