import ConcordSyncProtocol
import ConcordCore
import ConcordZlib
import Testing

struct WireTests {
    let budget = BatchBudget(maxEvents: 3, maxBytes: 64 * 1024)

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
        let end = SyncWire.BatchEnd(
            more: true, vector: VersionVector([original.keys[0].origin: 3]), heads: [original.keys[0].origin: original.events[2].hash],
            setAside: [SyncWire.Refusal(origin: original.keys[0].origin, seq: 4, code: "too-large", message: "a run too long")],
            limits: SyncLimits().advertised
        )
        let text = Array((BatchWriter.lines(original) + end.json + "\n").utf8)
        for pieceSize in [1, 7, 100, text.count] {
            var reader = BatchReader(budget: budget)
            var index = 0
            while index < text.count {
                try reader.feed(text[index..<min(index + pieceSize, text.count)])
                index += pieceSize
            }
            let decoded = try reader.finish()
            #expect(decoded.events == original.events)
            #expect(decoded.seals == original.seals)
            #expect(decoded.keys == original.keys)
            #expect(reader.end == end)
        }
    }

    @Test func tooManyEventsTooManyBytesOrTooLongALineAreRefusedNamingTheLine() throws {
        var reader = BatchReader(budget: budget)
        let error = #expect(throws: ConcordError.self) { try reader.feed(Array(BatchWriter.lines(try batch(events: 4)).utf8)) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("more than 3 events") == true)
        // Bytes: the limit counts every origin, event and seal line.
        var small = BatchReader(budget: BatchBudget(maxEvents: 100, maxBytes: 1000))
        let bytesError = #expect(throws: ConcordError.self) { try small.feed(Array(BatchWriter.lines(try batch(events: 3)).utf8)) }
        #expect(bytesError?.message.contains("more than 1000 bytes of lines") == true, "\(bytesError?.message ?? "")")
        var long = BatchReader(budget: budget)
        let lineError = #expect(throws: ConcordError.self) { try long.feed([UInt8](repeating: 0x20, count: SyncLimits.maxEndLineBytes + 1)) }
        #expect(lineError?.message.contains("line 1 is longer than") == true)
        // A line longer than any event line is only accepted as the end line.
        var eventLine = BatchReader(budget: BatchBudget(maxEvents: 10, maxBytes: 8 << 20))
        let padded = #"{"kind":"origin","pad":""# + String(repeating: "x", count: SyncLimits.maxLineBytes) + #""}"# + "\n"
        let paddedError = #expect(throws: ConcordError.self) { try eventLine.feed(Array(padded.utf8)) }
        #expect(paddedError?.message.contains("the limit for all but the end and checkpoint lines") == true, "\(paddedError?.message ?? "")")
    }

    @Test func wrongTypesAreRefusedNamingLineAndField() throws {
        var lines = BatchWriter.lines(try batch(events: 1)).split(separator: "\n").map(String.init)
        lines[1] = lines[1].replacing( "\"seq\":1", with: "\"seq\":\"one\"")
        var reader = BatchReader(budget: budget)
        let error = #expect(throws: ConcordError.self) { try reader.feed(Array((lines.joined(separator: "\n") + "\n").utf8)) }
        #expect(error?.message.contains("line 2: event field \"seq\" must be an integer") == true, "\(error?.message ?? "")")
    }

    @Test func pullRequestsAreClampedToTheLimitsAndNotBelowTheFloor() throws {
        let limits = SyncLimits(maxEventsPerBatch: 2000, maxWaitSeconds: 30)
        let request = try SyncWire.PullRequest(json: #"{"have":{},"maxEvents":1000000,"maxBytes":1099511627776,"waitSeconds":60}"#, limits: limits)
        #expect(request.maxEvents == 2000 && request.maxBytes == limits.maxInflatedBytes && request.waitSeconds == 30)
        for bad in [#"{"have":{"zz":1}}"#, #"{"have":[]}"#, #"{"have":{},"maxEvents":999}"#, #"{"have":{},"maxBytes":1024}"#, #"{"have":{},"other":1}"#,
                    #"{"have":{},"heads":{"00000000000000000000000000000000":"AB"}}"#, #"{"have":{},"exclude":["x"]}"#, #"{"have":{},"waitSeconds":61}"#, #"{"have":{},"maxEvents":1000.5}"#] {
            #expect(throws: ConcordError.self, "\(bad)") { try SyncWire.PullRequest(json: bad, limits: SyncLimits()) }
        }
        // Vector seqs: 0 (nothing held) up to 2^63 - 1, and no further.
        let origin = String(repeating: "a", count: 32)
        let top = try SyncWire.PullRequest(json: #"{"have":{"\#(origin)":9223372036854775807,"\#(String(repeating: "b", count: 32))":0}}"#, limits: SyncLimits())
        #expect(top.have.entries.count == 1)
        #expect(throws: ConcordError.self) { try SyncWire.PullRequest(json: #"{"have":{"\#(origin)":9223372036854775808}}"#, limits: SyncLimits()) }
    }

    @Test func pullRequestsRoundTrip() throws {
        let a = OriginID(publicKey: [1]), b = OriginID(publicKey: [2])
        let request = SyncWire.PullRequest(have: VersionVector([a: 5, b: 1]), heads: [a: EventHash.sha256([1])], exclude: [b], maxEvents: 1000, maxBytes: 8 << 20, waitSeconds: 25)
        #expect(try SyncWire.PullRequest(json: request.json, limits: SyncLimits()) == request)
    }

    @Test func limitsBelowTheProtocolsFloorAreRefused() throws {
        try SyncLimits().validate()
        for limits in [SyncLimits(maxEventsPerBatch: 999), SyncLimits(maxInflatedBytes: 4 << 20), SyncLimits(maxBodyBytes: 1 << 20), SyncLimits(maxInflateRatio: 50), SyncLimits(ratioFloorBytes: 1024)] {
            #expect(throws: ConcordError.self) { try limits.validate() }
        }
    }

    /// A peer advertising limits below the protocol's floor is refused: a node would otherwise
    /// cut its batches to nothing (or its runs of up to 1000 events between seals would never fit).
    @Test func advertisedLimitsBelowTheFloorAreRefusedAtDecode() throws {
        let good = SyncLimits().advertised
        let document = SyncWire.vectorDocument(node: "hub", vector: VersionVector(), limits: good)
        #expect(try SyncWire.decodeVectorDocument(document).limits == good)
        let floors: [(String, Int)] = [
            ("maxEvents", SyncLimits.minimumBatchEvents), ("maxBytes", SyncLimits.minimumBatchBytes),
            ("maxBodyBytes", SyncLimits.minimumBatchBytes), ("maxInflateRatio", SyncLimits.protocolInflateRatio),
            ("ratioFloorBytes", SyncLimits.protocolRatioFloorBytes),
        ]
        for (field, floor) in floors {
            for (value, accepted) in [(floor, true), (floor - 1, false), (0, false), (-1, false)] {
                var limits = good
                switch field {
                case "maxEvents": limits.maxEvents = value
                case "maxBytes": limits.maxBytes = value
                case "maxBodyBytes": limits.maxBodyBytes = value
                case "maxInflateRatio": limits.maxInflateRatio = value
                default: limits.ratioFloorBytes = value
                }
                let text = SyncWire.vectorDocument(node: "hub", vector: VersionVector(), limits: limits)
                if accepted {
                    #expect(try SyncWire.decodeVectorDocument(text).limits == limits, "\(field) = \(value)")
                } else {
                    #expect(throws: ConcordError.self, "\(field) = \(value)") { try SyncWire.decodeVectorDocument(text) }
                }
            }
        }
    }

    /// What a peer sends is sized so that even a batch that does not compress at all fits the
    /// body the peer takes, compressed as the client compresses a push.
    @Test func aBatchThatDoesNotCompressStillFitsThePeersBody() throws {
        let limits = SyncWire.Limits(maxEvents: 5000, maxBytes: 64 << 20, maxBodyBytes: SyncLimits.minimumBatchBytes, maxInflateRatio: 100, ratioFloorBytes: 1 << 20)
        let budget = limits.budget
        #expect(budget.maxEvents == 5000 && budget.maxBytes < limits.maxBodyBytes)
        var random = SeededRandom(seed: 11)
        let incompressible = (0..<budget.maxBytes).map { _ in UInt8.random(in: 0...255, using: &random) }
        let bound = InflateLimits(maxOutputBytes: .max, maxRatio: SyncLimits.protocolInflateRatio, ratioFloorBytes: SyncLimits.protocolRatioFloorBytes)
        for format in [CompressionFormat.gzip, .deflate] {
            let body = Zlib.compress(incompressible, format: format, ratioBound: bound)
            #expect(body.count <= limits.maxBodyBytes, "\(format): \(body.count) bytes for \(budget.maxBytes) of lines, the peer takes \(limits.maxBodyBytes)")
        }
        // A peer taking large bodies is sent batches as large as its inflated limit.
        #expect(SyncWire.Limits(maxEvents: 1000, maxBytes: 9 << 20, maxBodyBytes: 64 << 20, maxInflateRatio: 100, ratioFloorBytes: 1 << 20).budget.maxBytes == 9 << 20)
    }

    /// A peer's refusal text is printed by this node and kept in its store: terminal escapes and
    /// other control characters are replaced, and its length is bounded.
    @Test func aPeersRefusalTextIsMadePrintableAndBounded() throws {
        let origin = NodeKey().origin
        let hostile = "\u{1B}]0;owned\u{07}\u{1B}[2J line\nbreak \u{9B}31m é"
        let long = String(repeating: "x", count: 5000)
        let result = SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: VersionVector(), refused: [
            SyncWire.Refusal(origin: origin, seq: 1, code: "fork\u{1B}[0m", message: hostile),
            SyncWire.Refusal(origin: origin, seq: 2, code: String(repeating: "c", count: 500), message: long),
        ])
        let decoded = try SyncWire.PushResult(json: result.json)
        #expect(decoded.refused.count == 2)
        for refusal in decoded.refused {
            #expect(!refusal.message.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
            #expect(!refusal.code.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
        }
        #expect(decoded.refused[0].message == "\u{FFFD}]0;owned\u{FFFD}\u{FFFD}[2J line\u{FFFD}break \u{FFFD}31m é")
        #expect(decoded.refused[0].code == "fork\u{FFFD}[0m")
        #expect(decoded.refused[1].message.count == 800 && decoded.refused[1].code.count == 100)
    }
}
