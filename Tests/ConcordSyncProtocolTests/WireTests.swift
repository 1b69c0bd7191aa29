import ConcordCore
import ConcordSyncProtocol
import Testing

struct WireTests {
    let limits = SyncLimits(maxEventsPerBatch: 3, maxLineBytes: 4096)

    func batch(events count: Int) throws -> IngestBatch {
        let key = NodeKey()
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        var batch = IngestBatch(keys: [key.originKey])
        for index in 1...count {
            let draft = try EventDraft(stream: StreamID("case:W-\(index)"), type: EventType("case.note-added"), data: .object(["note": .string("n\(index)")]), actor: "a", occurredAt: 0)
            batch.events.append(chain.append(draft, hlc: HLCTimestamp(wallMillis: Int64(index)), recordedAt: 0, prev: []))
        }
        batch.seals.append(chain.sealHead())
        return batch
    }

    @Test func aBatchRoundTripsThroughNDJSONFedInAnyPieces() throws {
        let original = try batch(events: 3)
        let text = Array((BatchWriter.lines(original) + SyncWire.BatchEnd(more: false, vector: VersionVector()).json + "\n").utf8)
        for pieceSize in [1, 7, 100, text.count] {
            var reader = BatchReader(limits: limits)
            var index = 0
            while index < text.count {
                try reader.feed(text[index..<min(index + pieceSize, text.count)])
                index += pieceSize
            }
            let decoded = try reader.finish()
            #expect(decoded.events == original.events)
            #expect(decoded.seals == original.seals)
            #expect(decoded.keys == original.keys)
            #expect(reader.end == SyncWire.BatchEnd(more: false, vector: VersionVector()))
        }
    }

    @Test func tooManyEventsOrTooLongALineAreRefusedNamingTheLine() throws {
        var reader = BatchReader(limits: limits)
        let error = #expect(throws: ConcordError.self) { try reader.feed(Array(BatchWriter.lines(try batch(events: 4)).utf8)) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("more than 3 events") == true)
        var long = BatchReader(limits: limits)
        let lineError = #expect(throws: ConcordError.self) { try long.feed([UInt8](repeating: 0x20, count: 5000)) }
        #expect(lineError?.message.contains("line 1 is longer than 4096 bytes") == true)
    }

    @Test func wrongTypesAreRefusedNamingLineAndField() throws {
        var lines = BatchWriter.lines(try batch(events: 1)).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacing( "\"seq\":1", with: "\"seq\":\"one\"")
        var reader = BatchReader(limits: limits)
        let error = #expect(throws: ConcordError.self) { try reader.feed(Array((lines.joined(separator: "\n") + "\n").utf8)) }
        #expect(error?.message.contains("line 2: event field \"seq\" must be an integer") == true, "\(error?.message ?? "")")
    }

    @Test func pullRequestsAreClampedToTheLimits() throws {
        let request = try SyncWire.PullRequest(json: #"{"have":{},"maxEvents":1000000,"waitSeconds":99999}"#, limits: SyncLimits(maxEventsPerBatch: 50, maxWaitSeconds: 30))
        #expect(request.maxEvents == 50 && request.waitSeconds == 30)
        #expect(throws: ConcordError.self) { try SyncWire.PullRequest(json: #"{"have":{"zz":1}}"#, limits: SyncLimits()) }
        #expect(throws: ConcordError.self) { try SyncWire.PullRequest(json: #"{"have":[]}"#, limits: SyncLimits()) }
    }
}
