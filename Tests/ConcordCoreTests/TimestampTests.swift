import ConcordCore
import Testing

struct TimestampTests {
    @Test(arguments: [
        ("2016-03-09", "2016-03-09T00:00:00.000Z"),
        ("2016-03-09T10:30:00Z", "2016-03-09T10:30:00.000Z"),
        ("2016-03-09T10:30Z", "2016-03-09T10:30:00.000Z"),
        ("2016-03-09T10:30:00.25Z", "2016-03-09T10:30:00.250Z"),
        ("2016-03-09T11:30:00+01:00", "2016-03-09T10:30:00.000Z"),
        ("2016-03-09 05:30:00-05:00", "2016-03-09T10:30:00.000Z"),
        ("2016-02-29T23:59:59.999Z", "2016-02-29T23:59:59.999Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000Z"),
    ])
    func parsesISO8601AndFormatsInUTC(input: String, expected: String) throws {
        #expect(Timestamp.iso8601(millis: try Timestamp.parse(input)) == expected)
    }

    @Test func everyFourDigitYearTimeRoundTripsThroughItsText() throws {
        var random = SeededRandom(seed: 2016)
        let range = EventLimits.timeRange
        for _ in 0..<20_000 {
            let millis = range.lowerBound + Int64(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
            let text = Timestamp.iso8601(millis: millis)
            #expect(text.utf8.count == 24)
            #expect(try Timestamp.parse(text) == millis, "\(millis) formats as \(text)")
        }
        #expect(Timestamp.iso8601(millis: -62_167_219_200_000) == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(millis: -62_167_219_200_001) == "-000001-12-31T23:59:59.999Z")
    }

    @Test func knownInstant() throws {
        #expect(try Timestamp.parse("2016-03-09T10:30:00Z") == 1_457_519_400_000)
        #expect(try Timestamp.parse("1970-01-01") == 0)
    }

    @Test(arguments: ["2015-02-29", "2016-13-01", "2016-03-09T24:00", "yesterday", "2016-3-9", "2016-03-09T10:30:00Zjunk", ""])
    func refusesWhatIsNotADate(input: String) {
        let error = #expect(throws: ConcordError.self) { try Timestamp.parse(input) }
        #expect(error?.code == .invalidArgument)
    }
}
