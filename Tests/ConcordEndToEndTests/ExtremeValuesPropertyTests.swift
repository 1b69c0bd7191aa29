import ConcordCore
import ConcordDomain
import ConcordProjections
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Foundation
import Testing

/// The acceptance property of "signed is not safe": correctly hashed and sealed events with every
/// field drawn from the edges of its range and beyond (times, clocks, seqs, sizes, depths, prev
/// lists, domain payloads), sent as bytes through the real decoder and ingest, then through every
/// fold (catch-up, rebuild, as-of and valid-at replay, records), every reading path (the log in
/// JSON, queries of every table, verification, fork evidence, serving them to a peer, export and
/// import), and finally every read command of the real binary. Nothing may trap; each batch is
/// either refused before anything of it is stored, or stored and handled by every later command.
///
/// Seeded (`CONCORD_EXTREME_SEED`), bounded by count (`CONCORD_EXTREME_BATCHES`, 150 by default).
struct ExtremeValuesPropertyTests {
    static var batches: Int { ProcessInfo.processInfo.environment["CONCORD_EXTREME_BATCHES"].flatMap(Int.init) ?? 150 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["CONCORD_EXTREME_SEED"].flatMap(UInt64.init) ?? 2016 }

    struct Values {
        var random: SeededRandom
        let now = Timestamp.nowMillis()

        mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
        mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

        /// Edges of a range, inside it or (with `outside`) just past and far past it.
        mutating func time(outside: Bool) -> Int64 {
            let range = EventLimits.timeRange
            return outside ? pick([.min, .min + 1, range.lowerBound - 1, range.upperBound + 1, .max])
                : pick([range.lowerBound, range.lowerBound + 1, -1, 0, 1_457_519_400_000, now, range.upperBound - 1, range.upperBound, Int64.random(in: range, using: &random)])
        }

        mutating func wall(outside: Bool) -> Int64 {
            let top = EventLimits.hlcWallRange.upperBound
            return outside ? pick([-1, .min, top + 1, .max]) : pick([0, 1, now - 1000, now, now + EventLimits.maxClockAheadMillis, now + EventLimits.maxClockAheadMillis + 1, top])
        }

        mutating func seq(outside: Bool) -> UInt64 {
            outside ? pick([0, EventLimits.seqRange.upperBound + 1, .max]) : pick([2, 1000, EventLimits.seqRange.upperBound - 1, EventLimits.seqRange.upperBound])
        }

        mutating func label(outside: Bool) -> String {
            outside ? pick(["", String(repeating: "x", count: 257), "tab\there", "line\nbreak", "\u{7f}"])
                : pick(["a", String(repeating: "é", count: 128), String(repeating: "x", count: 256), "quote\"back\\slash", "✓ ünïcödé"])
        }

        mutating func stream(outside: Bool) -> String {
            outside ? pick(["case:" + String(repeating: "c", count: 196), "case:with space", "", "tab\tstream"])
                : pick(["case:X-1", "case:X-2", "meeting:M-1", "action:A-1", "notes:x", "case:", "case:" + String(repeating: "c", count: 195), "no-category", "case:é✓", "case:\"q\\"])
        }

        mutating func type(outside: Bool) -> String {
            if outside { return pick([String(repeating: "t", count: 101), "", "has space"]) }
            return chance(30) ? pick(["note.added", "x", String(repeating: "t", count: 100)]) : pick(DomainEvent.knownTypes.sorted())
        }

        /// JSON text: domain fields at odd values, or any shape, any depth, any size.
        mutating func payload(outside: Bool) -> String {
            if outside {
                return pick([String(repeating: #"{"a":"#, count: 64) + "{}" + String(repeating: "}", count: 64), #"{"n":""# + String(repeating: "x", count: EventLimits.maxPayloadBytes - 7) + #""}"#, #"[1,2,3]"#])
            }
            switch Int.random(in: 0..<9, using: &random) {
            case 0: return "{}"
            case 1:
                let depth = pick([1, 2, 63, 64])
                return String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
            case 2: return #"{"note":""# + String(repeating: pick(["a", " ", "é", "\\n", "\\u0000"]), count: pick([0, 1, 1000, 100_000])) + #""}"#
            case 3: return #"{"n":""# + String(repeating: "x", count: EventLimits.maxPayloadBytes - 8) + #""}"#
            case 4: return #"{"at":"\#(pick(["0000-01-01T00:00Z", "9999-12-31T23:59:59.999Z", "2016-02-30", "x"]))","title":"t","location":"l"}"#
            case 5: return #"{"due":"\#(pick(["0001-01-01", "9999-12-31", "2016-13-01", ""]))","title":"t","owner":"o"}"#
            case 6: return #"{"status":"\#(pick(["charged", "closed", "unknown", ""]))"}"#
            case 7: return #"{"reference":"R","title":"\#(pick(["", "T", String(repeating: "t", count: 5000)]))","region":"W","category":null}"#
            default: return #"{"decisionId":"D1","text":"t","n":\#(pick(["1e400", "-0", "123456789012345678901234567890", "0.1"]))}"#
            }
        }

        mutating func prev(outside: Bool, origin: ForgedOrigin) -> [EventID] {
            let count = outside ? EventLimits.maxPrevCount + 1 : pick([0, 1, 2, 10, EventLimits.maxPrevCount])
            var prev = (0..<count).map { offset in
                EventID(origin: OriginID(publicKey: [UInt8(offset & 0xff), UInt8(offset >> 8), 1]), seq: offset % 3 == 0 ? seq(outside: false) : 1)
            }.sorted()
            if outside, chance(50) { prev = [EventID(origin: origin.origin, seq: origin.lastSeq &+ 1)] }
            if !outside, origin.lastSeq > 0, chance(30) { prev = (prev + [EventID(origin: origin.origin, seq: origin.lastSeq)]).sorted() }
            return prev
        }

        /// A chain of 1 to 4 events of a fresh origin. Each event puts one field (or none) at an
        /// edge of its range, now and then just outside it; the chain is sealed at its end (and
        /// now and then not at all).
        mutating func origin() -> ForgedOrigin {
            var origin = ForgedOrigin()
            for index in 0..<Int.random(in: 1...4, using: &random) {
                let outside = chance(8)
                let field = Int.random(in: 0..<12, using: &random)
                let normalWall = now + Int64(index)
                // Format 2 at every edge too: whole, a stub, an opening changed after its commitment,
                // a salt of the wrong length; and erasures naming ids at the edges.
                let salt = (0..<(chance(5) ? pick([0, 16, 31, 33]) : EventLimits.saltBytes)).map { _ in UInt8.random(in: 0...255, using: &random) }
                let opening: ForgedOrigin.Opening = pick([.formatOne, .whole(salt: salt), .whole(salt: salt), .stub(salt: salt), .mismatched(salt: salt)])
                let erasure = field == 11
                let erased = [EventID(origin: origin.origin, seq: pick([1, 2, UInt64(index + 1), EventLimits.seqRange.upperBound])), EventID(origin: NodeKey().origin, seq: 1)]
                origin.append(
                    seq: field == 0 ? seq(outside: outside) : nil,
                    stream: field == 1 ? stream(outside: outside) : "case:X-1",
                    type: field == 11 ? Erasure.eventType : field == 2 ? type(outside: outside) : "case.note-added",
                    schemaVersion: field == 3 ? (outside ? 0 : pick([1, 2, 3, UInt32.max])) : 1,
                    hlc: HLCTimestamp(wallMillis: field == 4 ? wall(outside: outside) : normalWall, counter: field == 4 ? pick([0, UInt16.max]) : 0),
                    recordedAt: field == 5 ? time(outside: outside) : now,
                    occurredAt: field == 6 ? time(outside: outside) : 1_457_519_400_000,
                    actor: field == 7 ? label(outside: outside) : "officer",
                    prev: field == 8 ? prev(outside: outside, origin: origin) : [],
                    payload: erasure
                        ? #"{"events":[\#(erased.prefix(pick([1, 2])).map { "\"\($0)\"" }.joined(separator: ",")),"reason":"\#(pick(["", "why", String(repeating: "r", count: Erasure.maxReasonBytes + 1)]))"}"#
                        : field == 9 || field == 10 ? payload(outside: outside) : #"{"note":"n"}"#,
                    opening: erasure ? .whole(salt: salt) : opening
                )
            }
            if chance(95) { origin.seal() }
            return origin
        }
    }

    @Test func everyFieldAtEveryEdgeIsRefusedCleanlyOrHandledEverywhere() async throws {
        let directory = try TemporaryDirectory("extreme")
        let store = try StoreFixtures.createStore(in: directory, name: "hub.sqlite", node: "hub")
        let backend = SQLiteSyncBackend(store: store)
        var values = Values(random: SeededRandom(seed: Self.seed))
        var outcomes = (refusedWhole: 0, setAside: 0, stored: 0)
        for round in 0..<Self.batches {
            let origins = (0..<Int.random(in: 1...3, using: &values.random)).map { _ in values.origin() }
            let body = Array(origins.map { $0.lines() }.joined().utf8)
            let before = try store.versionVector()
            // Bytes become values only through the decoder, then ingest, as a push does.
            var reader = BatchReader(limits: SyncLimits())
            let batch: IngestBatch
            do {
                try reader.feed(body)
                batch = try reader.finish()
            } catch let error as ConcordError {
                #expect(!error.message.isEmpty)
                outcomes.refusedWhole += 1
                #expect(try store.versionVector() == before, "round \(round): a refused body changed the store")
                continue
            }
            let result = try await backend.ingest(batch, from: "extreme")
            outcomes.setAside += result.refused.count
            outcomes.stored += result.inserted
            for refusal in result.refused {
                #expect(try store.versionVector()[refusal.origin] == before[refusal.origin], "round \(round): a refused origin was stored")
            }
            // Whatever was stored is in range, and every fold and read handles it.
            for origin in Set(batch.events.map(\.origin)).subtracting(result.refused.map(\.origin)) {
                for stored in try store.readOrigin(origin, afterSeq: 0, limit: 100) {
                    #expect(stored.event.rangeViolation == nil, "round \(round): stored out of range: \(stored.event.rangeViolation ?? "")")
                    _ = stored.jsonLine
                    _ = stored.event.exchangeJSON
                    _ = try store.record(of: stored.event.stream, .live)
                }
            }
            if round % 10 == 9 { try await exerciseEveryReadingPath(store, directory: directory, round: round) }
        }
        try await exerciseEveryReadingPath(store, directory: directory, round: Self.batches)
        print("extreme values: \(Self.batches) batches; \(outcomes.refusedWhole) refused whole at decoding, \(outcomes.setAside) origins set aside at verification, \(outcomes.stored) events stored and handled")
        #expect(outcomes.refusedWhole > 0 && outcomes.setAside > 0 && outcomes.stored > 0, "the values must reach every outcome: \(outcomes)")
        try everyReadCommandOfTheBinary(store.path)
    }

    /// Folds, replays, queries, verification, serving and export over the whole store.
    func exerciseEveryReadingPath(_ store: SQLiteEventStore, directory: TemporaryDirectory, round: Int) async throws {
        try store.catchUpProjections()
        let live = try store.readModelDigest(.live)
        try store.rebuildProjections()
        #expect(try store.readModelDigest(.live) == live, "round \(round): a rebuild differs from the caught-up read models")
        for view in [ReadModelView.asOf(.min), .asOf(.max), .asOf(Timestamp.nowMillis()), .validAt(.min), .validAt(.max), .validAt(0)] {
            _ = try store.readModelDigest(view)
        }
        for table in ReadModelSchema.tables {
            _ = try store.queryReadModels(.live, sql: "SELECT * FROM {schema}.\(table.name)")
        }
        var after: Int64 = 0
        while true {
            let batch = try store.readLog(afterPosition: after, limit: 500)
            for stored in batch { _ = stored.jsonLine }
            guard let last = batch.last else { break }
            after = last.position
        }
        let report = try LogVerifier.verify(store)
        #expect(report.faults.isEmpty, "round \(round): \(report.faults.prefix(3))")
        _ = try await SQLiteSyncBackend(store: store).forkEvidence()
        // Served to a peer: everything goes, and the peer takes all of it.
        var runs = try await MissingRuns(source: SQLiteSyncBackend(store: store), have: VersionVector(), budget: SyncLimits().budget)
        let peer = try StoreFixtures.createStore(in: directory, name: "peer-\(round).sqlite", node: "peer")
        while true {
            let batch = try await runs.batch()
            #expect(runs.setAside.isEmpty, "round \(round): the hub could not send \(runs.setAside)")
            guard !batch.events.isEmpty else { break }
            let result = try peer.ingest(batch, source: "hub", policy: .setAside)
            #expect(result.refused.isEmpty, "round \(round): the peer refused what the hub stored: \(result.refused.prefix(2))")
            runs = try await MissingRuns(source: SQLiteSyncBackend(store: store), have: try peer.versionVector(), budget: SyncLimits().budget)
        }
        #expect(try peer.versionVector() == store.versionVector())
        #expect(try peer.readModelDigest(.live) == store.readModelDigest(.live), "round \(round): the peer's read models differ")
    }

    /// The real binary's read commands over the final store: none may crash.
    func everyReadCommandOfTheBinary(_ path: String) throws {
        let concord = try ConcordExecutable.locate()
        let commands: [[String]] = [
            ["log"], ["log", "--json"], ["log", "--limit", "5"], ["status"], ["status", "--json"], ["digest"], ["digest", "--as-of", "9999-12-31"],
            ["digest", "--valid-at", "0001-01-01"], ["query", "cases"], ["query", "meetings", "--json"], ["query", "decisions"], ["query", "actions", "--overdue"],
            ["query", "conflicts", "--json"], ["show", "case:X-1"], ["show", "meeting:M-1", "--json"], ["show", "action:A-1"], ["trail", "D1"],
            ["projections", "status"], ["projections", "rebuild"], ["verify"], ["verify", "--json"], ["export"], ["peer", "list"], ["trust", "list"],
        ]
        for arguments in commands {
            let result = try concord.run(arguments + ["--store", path])
            // Exit codes are the documented ones (67: no such stream or decision); never a signal.
            #expect([0, 3, 67].contains(result.status), "\(arguments): exit \(result.status): \(result.stderr.prefix(300))")
        }
    }
}
