import ConcordCore
import Testing

struct HybridLogicalClockTests {
    @Test func followsTheWallClockWhenItMovesForward() throws {
        var clock = HybridLogicalClock()
        #expect(try clock.tick(now: 1000) == HLCTimestamp(wallMillis: 1000, counter: 0))
        #expect(try clock.tick(now: 1005) == HLCTimestamp(wallMillis: 1005, counter: 0))
    }

    @Test func neverGoesBackwardsWhenTheWallClockDoes() throws {
        var clock = HybridLogicalClock()
        let first = try clock.tick(now: 2000)
        let second = try clock.tick(now: 1500)
        let third = try clock.tick(now: 2000)
        #expect(first < second && second < third)
        #expect(third == HLCTimestamp(wallMillis: 2000, counter: 2))
    }

    @Test func counterOverflowBorrowsTheNextMillisecond() throws {
        var clock = HybridLogicalClock(last: HLCTimestamp(wallMillis: 10, counter: .max))
        #expect(try clock.tick(now: 10) == HLCTimestamp(wallMillis: 11, counter: 0))
    }

    @Test func observingARemoteStampMovesTheClockPastIt() throws {
        var clock = HybridLogicalClock()
        _ = try clock.tick(now: 100)
        clock.observe(HLCTimestamp(wallMillis: 900, counter: 4))
        #expect(try clock.tick(now: 100) == HLCTimestamp(wallMillis: 900, counter: 5))
    }

    @Test func theClockNeverLeavesItsRange() throws {
        let top = EventLimits.hlcWallRange.upperBound
        // At the last millisecond with the counter full, there is no next stamp: refused, not wrapped.
        var full = HybridLogicalClock(last: HLCTimestamp(wallMillis: top, counter: .max))
        let error = #expect(throws: ConcordError.self) { try full.tick(now: 0) }
        #expect(error?.message.contains("would leave the range") == true)
        #expect(full.last == HLCTimestamp(wallMillis: top, counter: .max))
        // The counter at its maximum one millisecond earlier still borrows within range.
        var almost = HybridLogicalClock(last: HLCTimestamp(wallMillis: top - 1, counter: .max))
        #expect(try almost.tick(now: 0) == HLCTimestamp(wallMillis: top, counter: 0))
        // A wall clock beyond the range (or before 1970) is refused.
        var wrong = HybridLogicalClock()
        #expect(throws: ConcordError.self) { try wrong.tick(now: top + 1) }
        #expect(throws: ConcordError.self) { try wrong.tick(now: .max) }
        #expect(try wrong.tick(now: -5) == HLCTimestamp(wallMillis: 0, counter: 1))
    }

    @Test func packingPreservesOrder() {
        let stamps = [HLCTimestamp(wallMillis: 5, counter: 9), HLCTimestamp(wallMillis: 6, counter: 0), HLCTimestamp(wallMillis: 1_457_519_400_000, counter: 65535),
                      HLCTimestamp(wallMillis: EventLimits.hlcWallRange.upperBound, counter: 65535)]
        for (a, b) in zip(stamps, stamps.dropFirst()) {
            #expect(a < b)
            #expect(a.packed < b.packed)
            #expect(HLCTimestamp(packed: b.packed) == b)
        }
    }
}
