import ConcordCore
import Testing

struct JSONValueTests {
    @Test func canonicalTextSortsKeysAndDropsWhitespace() throws {
        let value = try JSONValue(parsing: #" { "b" : [1, 2.50, true, null], "a" : {"z": "x", "y": "w"} } "#)
        #expect(value.canonicalText == #"{"a":{"y":"w","z":"x"},"b":[1,2.50,true,null]}"#)
    }

    @Test func equalDocumentsWrittenDifferentlyHaveTheSameCanonicalText() throws {
        let first = try JSONValue(parsing: #"{"title":"Car wash","region":"West Yorkshire","n":1e3}"#)
        let second = try JSONValue(parsing: "{\n  \"n\": 1e3,\n  \"region\": \"West Yorkshire\",\n  \"title\": \"Car wash\"\n}")
        #expect(first.canonicalText == second.canonicalText)
    }

    @Test func numbersAreKeptExactlyAsWritten() throws {
        let value = try JSONValue(parsing: #"{"big":123456789012345678901234567890,"small":0.1,"exp":-2.5E-7}"#)
        #expect(value.canonicalText == #"{"big":123456789012345678901234567890,"exp":-2.5E-7,"small":0.1}"#)
    }

    @Test func stringsAreEscapedMinimallyAndUnicodeSurvives() throws {
        let value = try JSONValue(parsing: #"{"t":"tab\there \"q\" \/ \u00e9 \ud83d\ude00 \u0001"}"#)
        #expect(value.canonicalText == "{\"t\":\"tab\\there \\\"q\\\" / é 😀 \\u0001\"}")
        #expect(try JSONValue(parsing: value.canonicalText) == value)
    }

    @Test func keysSortByUTF8Bytes() throws {
        let value = try JSONValue(parsing: #"{"é":1,"z":2,"Z":3,"a":4}"#)
        #expect(value.canonicalText == #"{"Z":3,"a":4,"z":2,"é":1}"#)
    }

    @Test(arguments: [
        ("{\"a\":1,\"a\":2}", "duplicate key"),
        ("{\"a\":1,}", "expected a string key"),
        ("[1,2", "unexpected end of input"),
        ("{\"a\":01}", "leading zeros"),
        ("{\"a\":NaN}", "unexpected character"),
        ("{\"a\":\"\\ud800\"}", "lone UTF-16 surrogate"),
        ("{\"a\":\"x\"} trailing", "after the end"),
        ("{\"a\":\"line\nbreak\"}", "control character"),
        ("{\"a\":1.}", "fraction needs digits"),
        ("", "unexpected end of input"),
    ])
    func malformedJSONIsRefusedWithAReason(input: String, reason: String) {
        let error = #expect(throws: ConcordError.self) { try JSONValue(parsing: input) }
        #expect(error?.code == .invalidJSON)
        #expect(error?.message.contains(reason) == true, "message was: \(error?.message ?? "")")
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let error = #expect(throws: ConcordError.self) { try JSONValue(parsing: deep) }
        #expect(error?.message.contains("nested deeper than 64") == true)
        #expect(throws: Never.self) { try JSONValue(parsing: String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) }
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]  // {"a":"\xff\xfe"}
        let error = #expect(throws: ConcordError.self) {
            try bytes.withUnsafeBufferPointer { try JSONValue(parsingUTF8: $0) }
        }
        #expect(error?.message.contains("not valid UTF-8") == true)
    }

    @Test func oversizedInputIsRefusedBeforeParsing() {
        let error = #expect(throws: ConcordError.self) {
            try JSONValue(parsing: "[" + String(repeating: "1,", count: 100) + "1]", limits: JSONLimits(maxBytes: 100))
        }
        #expect(error?.code == .tooLarge)
    }
}
