import ConcordCore
import Testing

struct StoredPrevListTests {
    @Test func listsRoundTripThroughTheirText() {
        let ids = [
            EventID(origin: OriginID(unchecked: "a1b2"), seq: 1),
            EventID(origin: OriginID(unchecked: "ffee"), seq: UInt64.max),
            EventID(origin: OriginID(unchecked: "a1b2"), seq: 42),
        ]
        let text = StoredPrevList.encode(ids)
        #expect(text == "a1b2:1 ffee:18446744073709551615 a1b2:42")
        #expect(StoredPrevList.decode(text) == ids)
        #expect(StoredPrevList.decode(StoredPrevList.encode([])) == [])
    }

    @Test(arguments: [
        ("abcd:", "abcd", UInt64(0)),
        ("abcd", "abcd", 0),
        ("abcd:+5", "abcd", 0),
        ("abcd:5x", "abcd", 0),
        ("abcd:18446744073709551616", "abcd", 0),
        (":7", "", 7),
        ("ab:cd:7", "ab", 0),
    ])
    func damagedIDsReadAsSeqZeroOrAnEmptyOrigin(text: String, origin: String, seq: UInt64) {
        #expect(StoredPrevList.decode(text) == [EventID(origin: OriginID(unchecked: origin), seq: seq)])
    }

    @Test func extraSpacesAreSkipped() {
        #expect(StoredPrevList.decode(" ab:1  cd:2 ") == [EventID(origin: OriginID(unchecked: "ab"), seq: 1), EventID(origin: OriginID(unchecked: "cd"), seq: 2)])
    }
}
