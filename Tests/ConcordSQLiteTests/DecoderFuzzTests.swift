import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import ConcordZlib
import Foundation
import Testing

/// Seeded fuzzing of every decoder that reads another node's bytes: the NDJSON batch reader (and
/// with it the strict JSON parser and event decoding), inflate, and verified ingest. Each input is
/// a valid one mutated at random; the decoder must answer with a `ConcordError` or a value, never
/// crash, and ingest must never store an event that does not verify. Bounded by count;
/// CONCORD_FUZZ_ITERATIONS raises it (docs/reliability.md).
struct DecoderFuzzTests {
    static var iterations: Int { ProcessInfo.processInfo.environment["CONCORD_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1500 }

    /// A valid exchange body: a key, 12 events on three streams, seals, and an end line.
    static func validBody() throws -> [UInt8] {
        let key = try NodeKey(rawPrivateKey: Array(repeating: 7, count: 32))
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        var batch = IngestBatch(keys: [key.originKey])
        for index in 1...12 {
            let draft = try EventDraft(
                stream: StreamID("case:FZ-\(index % 3)"), type: EventType(index % 3 == 1 && index < 4 ? "case.opened" : "case.note-added"),
                data: index < 4 && index % 3 == 1 ? .object(["reference": .string("FZ"), "title": .string("Fuzz"), "region": .string("Test")]) : .object(["note": .string("note \(index) ünïcödé ✓"), "n": .number("\(index)")]),
                actor: "fuzz", occurredAt: 1_457_519_400_000
            )
            batch.events.append(chain.append(draft, hlc: HLCTimestamp(wallMillis: 1_457_519_400_000 + Int64(index)), recordedAt: 1_457_519_400_000, prev: []))
            if index % 5 == 0 { batch.seals.append(chain.sealHead()) }
        }
        batch.seals.append(chain.sealHead())
        return Array((BatchWriter.lines(batch) + SyncWire.BatchEnd(more: false, vector: VersionVector()).json + "\n").utf8)
    }

    /// One to four random edits: flip, insert, delete, duplicate a span, truncate, or splice in a JSON token.
    static func mutate(_ input: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        let tokens: [String] = ["\"", "{", "}", "[", "]", ",", ":", "null", "-1", "1e999", "99999999999999999999", "\\u0000", "\\ud800", "\u{FEFF}", "\n", "\"kind\":\"event\"", "\"seq\":0"]
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...40, using: &random)))
            case 3:
                let end = min(bytes.count, at + Int.random(in: 1...200, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: Int.random(in: 0...bytes.count, using: &random))
            case 4: bytes = Array(bytes.prefix(at))
            case 5: bytes.insert(contentsOf: Array(tokens[Int.random(in: 0..<tokens.count, using: &random)].utf8), at: at)
            default: bytes[at] = [0x00, 0x80, 0xC0, 0xFF, 0x0A, 0x22, 0x5C][Int.random(in: 0..<7, using: &random)]
            }
        }
        return bytes
    }

    @Test func theBatchReaderAnswersEveryMutatedBodyWithABatchInRangeOrAnErrorNamingTheLine() throws {
        let valid = try Self.validBody()
        var random = SeededRandom(seed: 1)
        var outcomes = (decoded: 0, refused: 0)
        let decodingCodes: Set<ConcordError.Code> = [.invalidJSON, .invalidArgument, .tooLarge]
        for _ in 0..<Self.iterations {
            var reader = BatchReader(limits: SyncLimits())
            do {
                try reader.feed(Self.mutate(valid, &random))
                let batch = try reader.finish()
                // Whatever decodes is within every range: nothing downstream can trap on it.
                for event in batch.events { #expect(event.rangeViolation == nil, "\(event.id): \(event.rangeViolation ?? "")") }
                outcomes.decoded += 1
            } catch let error as ConcordError {
                #expect(decodingCodes.contains(error.code), "\(error)")
                #expect(error.message.hasPrefix("line "), "the error must name the line: \(error.message)")
                outcomes.refused += 1
            }
        }
        #expect(outcomes.decoded > 0 && outcomes.refused > 0, "the mutations should both break and spare bodies: \(outcomes)")
    }

    @Test func inflateAnswersEveryMutatedStreamWithBytesOrAClearError() throws {
        let valid = try Self.validBody()
        var random = SeededRandom(seed: 2)
        for format in [CompressionFormat.gzip, .deflate] {
            let compressed = Zlib.compress(valid, format: format)
            for _ in 0..<(Self.iterations / 2) {
                let inflater = Inflater(format: format, limits: InflateLimits(maxOutputBytes: 1 << 20, maxRatio: 100, ratioFloorBytes: 64 << 10))
                var produced = 0
                do {
                    try inflater.feed(Self.mutate(compressed, &random)) { produced += $0.count }
                    try inflater.finish()
                } catch is ConcordError {}
                #expect(produced <= 1 << 20)
            }
        }
    }

    @Test func ingestNeverStoresAnEventThatDoesNotVerify() throws {
        let directory = try TemporaryDirectory("fuzz")
        let store = try StoreFixtures.createStore(in: directory)
        let valid = try Self.validBody()
        var random = SeededRandom(seed: 3)
        var outcomes = (stored: 0, refused: 0)
        for _ in 0..<(Self.iterations / 3) {
            var reader = BatchReader(limits: SyncLimits())
            guard (try? reader.feed(Self.mutate(valid, &random))) != nil, let batch = try? reader.finish() else { continue }
            do {
                outcomes.stored += try store.ingest(batch).inserted
            } catch is ConcordError {
                outcomes.refused += 1
            }
        }
        let report = try LogVerifier.verify(store)
        #expect(report.faults.isEmpty, "\(report.faults)")
        #expect(try store.integrityCheck() == "ok")
        #expect(outcomes.refused > 0 && outcomes.stored > 0, "\(outcomes)")
        // Every mutation of a hashed field breaks its hash: the only events ever stored are the
        // valid body's own, byte for byte (a mutated copy, even with a recomputed-looking hash, never).
        var reader = BatchReader(limits: SyncLimits())
        try reader.feed(valid)
        let originals = Set(try reader.finish().events.map(\.exchangeJSON))
        let key = try NodeKey(rawPrivateKey: Array(repeating: 7, count: 32))
        let stored = try store.readOrigin(key.origin, afterSeq: 0, limit: 100).map(\.event.exchangeJSON)
        #expect(!stored.isEmpty && stored.allSatisfy(originals.contains), "stored events that are not the valid body's")
    }
}
