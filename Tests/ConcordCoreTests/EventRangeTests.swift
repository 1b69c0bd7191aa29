import ConcordCore
import Foundation
import Testing

/// Every field's range, checked where an exchanged event becomes values (`Event(exchange:)`),
/// at the edges of each range, and the totality of what formats stored values.
struct EventRangeTests {
    let key = NodeKey()

    func event(
        seq: UInt64 = 1, stream: String = "case:R-1", actor: String = "tester", causation: String? = nil, hlcWall: Int64 = 1_700_000_000_000,
        counter: UInt16 = 0, recordedAt: Int64 = 1_700_000_000_000, occurredAt: Int64 = 0, prev: [EventID] = [], payload: String = #"{"note":"n"}"#
    ) -> Event {
        var event = Event(
            id: EventID(origin: key.origin, seq: seq), stream: StreamID(unchecked: stream), type: EventType(unchecked: "case.note-added"), schemaVersion: 1,
            hlc: HLCTimestamp(wallMillis: hlcWall, counter: counter), recordedAt: recordedAt, occurredAt: occurredAt, actor: actor,
            causationID: causation, correlationID: nil, prev: prev, payload: payload, prevHash: .genesis, hash: .genesis
        )
        event.hash = event.computeHash()
        return event
    }

    /// The same event in format 2 (salted commitment), and its stub.
    func formats(_ event: Event) -> [Event] {
        var committed = event
        committed.salt = OriginChain.randomSalt()
        committed.commitment = committed.computeCommitment()
        committed.hash = committed.computeHash()
        return [event, committed, committed.stub!]
    }

    func decode(_ line: String) throws -> Event {
        try Event(exchange: try JSONValue(parsing: line, limits: EventLimits.exchangeLineJSON))
    }

    func replacing(_ field: String, with value: String, in event: Event) -> String {
        let line = event.exchangeJSON
        guard let range = line.range(of: "\"\(field)\":") else { return line }
        let start = range.upperBound
        var end = start
        var depth = 0
        var inString = false
        while end < line.endIndex {
            let c = line[end]
            if inString {
                if c == "\\" { end = line.index(after: end) } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "[" || c == "{" {
                depth += 1
            } else if c == "]" || c == "}" {
                if depth == 0 { break }
                depth -= 1
            } else if c == ",", depth == 0 {
                break
            }
            end = line.index(after: end)
        }
        return line.replacingCharacters(in: start..<end, with: value)
    }

    @Test func theWeightOfALineIsTheLengthOfTheLineWritten() throws {
        var random = SeededRandom(seed: 11)
        let other = NodeKey().origin
        for round in 0..<300 {
            let prev = (0..<Int.random(in: 0...5, using: &random)).map { _ in EventID(origin: other, seq: UInt64.random(in: 1...EventLimits.seqRange.upperBound, using: &random)) }.sorted()
            let e = event(
                seq: UInt64.random(in: 1...EventLimits.seqRange.upperBound, using: &random),
                stream: "case:R-\(round)\"\\é", actor: round % 3 == 0 ? "a\"b\\c é ✓" : "officer \(round)",
                causation: round % 2 == 0 ? nil : "cause \\ \(round)", hlcWall: Int64.random(in: EventLimits.hlcWallRange, using: &random),
                counter: UInt16.random(in: 0...UInt16.max, using: &random), recordedAt: Int64.random(in: EventLimits.timeRange, using: &random),
                occurredAt: Int64.random(in: EventLimits.timeRange, using: &random), prev: prev, payload: #"{"note":"\#(round)"}"#
            )
            for e in formats(e) {
                #expect(e.exchangeLineBytes == e.exchangeJSON.utf8.count + 1, "round \(round), format \(e.format) \(e.disclosure)")
                #expect(try decode(e.exchangeJSON) == e)
            }
        }
    }

    @Test func anEventAtEveryLimitFitsTheLongestLineAndDecodes() throws {
        let longLabel = String(repeating: "\\", count: EventLimits.maxLabelBytes)
        let prev = (1...EventLimits.maxPrevCount).map { EventID(origin: OriginID(publicKey: [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)]), seq: EventLimits.seqRange.upperBound) }.sorted()
        let payload = #"{"n":""# + String(repeating: "a", count: EventLimits.maxPayloadBytes - 8) + #""}"#
        var e = event(seq: EventLimits.seqRange.upperBound, stream: "case:" + String(repeating: "\"", count: EventLimits.maxStreamBytes - 5), actor: longLabel,
                      causation: longLabel, hlcWall: EventLimits.hlcWallRange.upperBound, counter: .max, recordedAt: EventLimits.timeRange.lowerBound,
                      occurredAt: EventLimits.timeRange.lowerBound, prev: prev, payload: payload)
        e.correlationID = longLabel
        e.hash = e.computeHash()
        #expect(payload.utf8.count == EventLimits.maxPayloadBytes)
        for e in formats(e) {
            #expect(e.exchangeLineBytes <= EventLimits.maxEventLineBytes, "\(e.exchangeLineBytes)")
            #expect(e.exchangeLineBytes == e.exchangeJSON.utf8.count + 1)
            #expect(try decode(e.exchangeJSON) == e)
        }
    }

    @Test func everyFieldOutOfItsRangeIsRefusedWhenDecoded() throws {
        let base = event()
        let cases: [(field: String, value: String, text: String)] = [
            ("seq", "0", "\"seq\""), ("seq", "9223372036854775808", "\"seq\""), ("seq", "-1", "\"seq\""),
            ("occurredAt", "-9223372036854775808", "\"occurredAt\""), ("occurredAt", "253402300800000", "\"occurredAt\""), ("occurredAt", "-62135596800001", "\"occurredAt\""),
            ("recordedAt", "9223372036854775807", "\"recordedAt\""), ("recordedAt", "1.5", "\"recordedAt\""), ("recordedAt", "1e400", "\"recordedAt\""),
            ("hlcWallMillis", "70368744177664", "\"hlcWallMillis\""), ("hlcWallMillis", "-1", "\"hlcWallMillis\""),
            ("hlcCounter", "65536", "\"hlcCounter\""), ("schemaVersion", "0", "\"schemaVersion\""), ("schemaVersion", "4294967296", "\"schemaVersion\""),
            ("actor", #""""#, "must not be empty"), ("actor", "\"" + String(repeating: "a", count: 257) + "\"", "the limit is 256"), ("actor", #""a\u0007b""#, "control character"),
            ("causationId", "\"" + String(repeating: "c", count: 257) + "\"", "the limit is 256"), ("causationId", "5", "a string or null"),
            ("prev", #"["x"]"#, "ORIGIN:SEQ"), ("prev", "[\"\(key.origin.hex):0\"]", "ORIGIN:SEQ"), ("prev", "[\"\(NodeKey().origin.hex):9223372036854775808\"]", "ORIGIN:SEQ"),
            ("prev", "[\"\(NodeKey().origin.hex):007\"]", "ORIGIN:SEQ"), ("prev", "[\"\(NodeKey().origin.hex):+7\"]", "ORIGIN:SEQ"),
            ("prev", "[\"\(key.origin.hex):1\"]", "an event can only follow earlier events of its origin"),
            ("prev", "[\"ffffffffffffffffffffffffffffffff:2\",\"ffffffffffffffffffffffffffffffff:1\"]", "ascending order"),
            ("prev", "[\"ffffffffffffffffffffffffffffffff:2\",\"ffffffffffffffffffffffffffffffff:2\"]", "ascending order"),
            ("prev", "[" + (0...EventLimits.maxPrevCount).map { "\"\(String(format: "%032x", $0)):1\"" }.joined(separator: ",") + "]", "at most 1024"),
            ("hash", "\"" + String(repeating: "A", count: 64) + "\"", "lowercase hex"), ("prevHash", "\"00\"", "64 lowercase hex digits"),
            ("data", "[]", "a JSON object"), ("data", String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65), "nested deeper"),
            ("stream", #""case:with space""#, "space or control"), ("stream", "\"" + String(repeating: "s", count: 201) + "\"", "the limit is 200"),
        ]
        for (field, value, text) in cases {
            let line = replacing(field, with: value, in: base)
            let error = #expect(throws: ConcordError.self, "\(field) = \(value.prefix(60))") { try decode(line) }
            #expect(error?.message.contains(text) == true, "\(field) = \(value.prefix(60)): \(error?.message ?? "")")
        }
        // Integers may be written as JSON Schema allows (1000, 1000.0, 1e3 are one value), and the
        // edges themselves are accepted.
        #expect(try decode(replacing("recordedAt", with: "1e3", in: base)).recordedAt == 1000)
        #expect(try decode(replacing("seq", with: "1.0", in: base)).seq == 1)
        for (field, value) in [("occurredAt", "-62135596800000"), ("occurredAt", "253402300799999"), ("hlcWallMillis", "70368744177663"), ("seq", "9223372036854775807"), ("hlcCounter", "65535")] {
            #expect(throws: Never.self, "\(field) = \(value)") { try decode(replacing(field, with: value, in: base)) }
        }
        // 64 levels of data: the limit, accepted (the exchange line is one level deeper).
        let deep = String(repeating: "{\"a\":", count: 63) + "{}" + String(repeating: "}", count: 63)
        #expect(throws: Never.self) { try decode(replacing("data", with: deep, in: base)) }
        // Data over 1 MiB in canonical form.
        let big = #"{"n":""# + String(repeating: "a", count: EventLimits.maxPayloadBytes) + #""}"#
        let error = #expect(throws: ConcordError.self) { try decode(replacing("data", with: big, in: base)) }
        #expect(error?.code == .tooLarge)
    }

    @Test func aDraftOutsideTheRangesIsRefusedByTheWriter() throws {
        for occurredAt in [Int64.min, EventLimits.timeRange.lowerBound - 1, EventLimits.timeRange.upperBound + 1, .max] {
            #expect(throws: ConcordError.self) { try EventDraft(stream: StreamID("case:D"), type: EventType("t"), data: .object([:]), actor: "a", occurredAt: occurredAt) }
        }
        var deep = JSONValue.object([:])
        for _ in 0..<EventLimits.maxPayloadDepth { deep = .object(["a": deep]) }
        let error = #expect(throws: ConcordError.self) { try EventDraft(stream: StreamID("case:D"), type: EventType("t"), data: deep, actor: "a", occurredAt: 0) }
        #expect(error?.message.contains("nested deeper than 64") == true)
        guard case .object(let members) = deep, let inner = members["a"] else { return }
        #expect(throws: Never.self) { try EventDraft(stream: StreamID("case:D"), type: EventType("t"), data: inner, actor: "a", occurredAt: 0) }
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -62_135_596_800_001, -1, 0, 253_402_300_799_999, 253_402_300_800_000, Int64.max])
    func everyTimeFormatsWithoutTrapping(millis: Int64) {
        let text = Timestamp.iso8601(millis: millis)
        #expect(text.hasSuffix("Z") && text.contains("T"))
        #expect(HLCTimestamp(packed: millis).description.contains("+"))
    }

    @Test func timesInsideTheRangeFormatWithFourDigitYearsAndRoundTrip() throws {
        #expect(Timestamp.iso8601(millis: EventLimits.timeRange.lowerBound) == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(millis: EventLimits.timeRange.upperBound) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.iso8601(millis: EventLimits.timeRange.upperBound + 1) == "+010000-01-01T00:00:00.000Z")
        #expect(try Timestamp.parse("0001-01-01T00:00:00Z") == EventLimits.timeRange.lowerBound)
        #expect(Timestamp.iso8601(millis: -1) == "1969-12-31T23:59:59.999Z")
    }
}
