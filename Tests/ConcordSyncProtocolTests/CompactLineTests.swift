import ConcordCore
import ConcordSyncProtocol
import Testing

/// Sync bodies leave out what the reader recomputes (docs/sync-protocol.md, "Compact lines"):
/// the events read back are the events written, and what cannot be recomputed is refused.
struct CompactLineTests {
    /// Two origins' runs interleaved, in both formats, one of them a stub, the second origin's run
    /// starting past seq 1 (as a pull's run does after what the puller has).
    static func mixedBatch() throws -> IngestBatch {
        let first = NodeKey(), second = NodeKey()
        var a = OriginChain(key: first, lastSeq: 0, lastHash: .genesis)
        var b = OriginChain(key: second, lastSeq: 0, lastHash: .genesis)
        var batch = IngestBatch(keys: [first.originKey, second.originKey])
        func draft(_ index: Int) throws -> EventDraft {
            try EventDraft(stream: StreamID("case:W-\(index % 3)"), type: EventType("case.note-added"), data: .object(["note": .string("n\(index)")]), actor: "a\(index)", occurredAt: Int64(index))
        }
        // b's first two events are held by the reader already: its run here starts at seq 3.
        for index in 1...2 { _ = b.append(try draft(100 + index), hlc: HLCTimestamp(wallMillis: Int64(index)), recordedAt: 0, prev: []) }
        for index in 1...6 {
            let event = a.append(try draft(index), hlc: HLCTimestamp(wallMillis: Int64(10 + index)), recordedAt: 0, prev: [], format: index == 4 ? 1 : 2)
            batch.events.append(index == 5 ? event.stub! : event)
            if index.isMultiple(of: 2) {
                batch.events.append(b.append(try draft(200 + index), hlc: HLCTimestamp(wallMillis: Int64(10 + index)), recordedAt: 0, prev: []))
            }
        }
        batch.seals = [a.sealHead(), b.sealHead()]
        return batch
    }

    static func read(_ text: String) throws -> IngestBatch {
        var reader = BatchReader(budget: BatchBudget(maxEvents: 100, maxBytes: 1 << 20))
        try reader.feed(Array(text.utf8))
        return try reader.finish()
    }

    @Test func compactLinesReadBackAsTheEventsWritten() throws {
        let batch = try Self.mixedBatch()
        let compact = BatchWriter.lines(batch, compact: true)
        let decoded = try Self.read(compact)
        #expect(decoded.events == batch.events)
        #expect(decoded.events.map(\.hash) == batch.events.map(\.hash))
        #expect(decoded.events.map(\.prevHash) == batch.events.map(\.prevHash))
        #expect(decoded.events.map(\.commitment) == batch.events.map(\.commitment))
        #expect(decoded.seals == batch.seals)
        let lines = compact.split(separator: "\n").filter { $0.contains("\"kind\":\"event\"") }
        // No hash on any line; a commitment only on the stub; prevHash only where a run starts
        // past seq 1 (b's first line: seq 3).
        #expect(lines.allSatisfy { !$0.contains("\"hash\"") })
        #expect(lines.filter { $0.contains("\"commitment\"") }.count == 1)
        #expect(lines.filter { $0.contains("\"prevHash\"") }.count == 1)
        #expect(compact.utf8.count < BatchWriter.lines(batch).utf8.count - 9 * 2 * 64)
        // The full lines still read back the same (exports carry every field).
        #expect(try Self.read(BatchWriter.lines(batch)).events == batch.events)
    }

    @Test func aLeftOutPrevHashWithoutItsPredecessorIsRefused() throws {
        let batch = try Self.mixedBatch()
        // b's seq 3 without its prevHash, and no line of b before it.
        let event = batch.events.first { $0.origin == batch.keys[1].origin }!
        let line = event.exchangeJSON(withOpening: true, leaving: [.hash, .commitment, .prevHash])
        let error = #expect(throws: ConcordError.self) { _ = try Self.read(line + "\n") }
        #expect(error?.code == .invalidJSON)
        #expect(error?.message.contains("no field \"prevHash\"") == true)
        // A stub cannot leave out its commitment: there is no opening to take it over.
        let stub = batch.events.first { $0.disclosure == .withheld }!
        var object = try JSONValue(parsing: stub.exchangeJSON(withOpening: true, leaving: [.hash]))
        if case .object(var fields) = object { fields["commitment"] = nil; object = .object(fields) }
        #expect(throws: ConcordError.self) { _ = try Event(exchange: object) }
    }

    @Test func aChangedFieldOnACompactLineNoLongerMatchesTheSeal() throws {
        let batch = try Self.mixedBatch()
        let compact = BatchWriter.lines(batch, compact: true)
        // The third event's note, changed: its hash, and the hashes chained after it, change.
        let changed = compact.replacing("\"note\":\"n3\"", with: "\"note\":\"n9\"")
        #expect(changed != compact)
        let decoded = try Self.read(changed)
        let origin = batch.keys[0].origin
        let verifier = BatchVerifier(now: 1_000_000)
        let part = BatchVerifier.byOrigin(decoded)[origin]!
        // The same body unchanged verifies: the refusal below is the change's.
        let intact = BatchVerifier.byOrigin(try Self.read(compact))[origin]!
        guard case .success = verifier.verify(origin: origin, events: intact.events, seals: intact.seals, offeredKeys: intact.keys, state: OriginState()) else {
            Issue.record("the unchanged compact body did not verify")
            return
        }
        let outcome = verifier.verify(origin: origin, events: part.events, seals: part.seals, offeredKeys: part.keys, state: OriginState())
        guard case .failure(let refusal) = outcome else {
            Issue.record("a changed compact line was accepted")
            return
        }
        #expect(refusal.message.contains("seal"))
    }
}
