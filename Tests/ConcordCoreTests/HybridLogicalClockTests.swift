import ConcordCore
import Testing

struct HybridLogicalClockTests {
    @Test func followsTheWallClockWhenItMovesForward() {
        var clock = HybridLogicalClock()
        #expect(clock.tick(now: 1000) == HLCTimestamp(wallMillis: 1000, counter: 0))
        #expect(clock.tick(now: 1005) == HLCTimestamp(wallMillis: 1005, counter: 0))
    }

    @Test func neverGoesBackwardsWhenTheWallClockDoes() {
        var clock = HybridLogicalClock()
        let first = clock.tick(now: 2000)
        let second = clock.tick(now: 1500)
        let third = clock.tick(now: 2000)
        #expect(first < second && second < third)
        #expect(third == HLCTimestamp(wallMillis: 2000, counter: 2))
    }

    @Test func counterOverflowBorrowsTheNextMillisecond() {
        var clock = HybridLogicalClock(last: HLCTimestamp(wallMillis: 10, counter: .max))
        #expect(clock.tick(now: 10) == HLCTimestamp(wallMillis: 11, counter: 0))
    }

    @Test func observingARemoteStampMovesTheClockPastIt() {
        var clock = HybridLogicalClock()
        _ = clock.tick(now: 100)
        clock.observe(HLCTimestamp(wallMillis: 900, counter: 4))
        #expect(clock.tick(now: 100) == HLCTimestamp(wallMillis: 900, counter: 5))
    }

    @Test func packingPreservesOrder() {
        let stamps = [HLCTimestamp(wallMillis: 5, counter: 9), HLCTimestamp(wallMillis: 6, counter: 0), HLCTimestamp(wallMillis: 1_457_519_400_000, counter: 65535)]
        for (a, b) in zip(stamps, stamps.dropFirst()) {
            #expect(a < b)
            #expect(a.packed < b.packed)
            #expect(HLCTimestamp(packed: b.packed) == b)
        }
    }
}
