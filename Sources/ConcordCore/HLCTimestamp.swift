/// A hybrid logical clock stamp: wall-clock milliseconds and a counter for events in the same millisecond.
///
/// Stamps order events consistently with causality across nodes: a node never issues a stamp
/// below one it has already seen. Packed into one signed 64-bit integer (wall << 16 | counter) so
/// SQL can order and index them as plain integers.
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var wallMillis: Int64
    public var counter: UInt16

    public init(wallMillis: Int64, counter: UInt16 = 0) {
        self.wallMillis = wallMillis
        self.counter = counter
    }

    public init(packed: Int64) {
        self.wallMillis = packed >> 16
        self.counter = UInt16(truncatingIfNeeded: packed & 0xffff)
    }

    /// `wallMillis << 16 | counter`; order-preserving for every wall time in
    /// `EventLimits.hlcWallRange` (and, wrapping, defined for any other).
    public var packed: Int64 { wallMillis &<< 16 | Int64(counter) }

    public static let zero = HLCTimestamp(wallMillis: 0)

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool {
        (lhs.wallMillis, lhs.counter) < (rhs.wallMillis, rhs.counter)
    }

    /// `2016-03-09T10:00:00.000Z+3` (the counter after the plus sign).
    public var description: String { "\(Timestamp.iso8601(millis: wallMillis))+\(counter)" }
}

/// Issues stamps that never go backwards, whatever the wall clock does.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HLCTimestamp

    public init(last: HLCTimestamp = .zero) {
        self.last = last
    }

    /// The stamp for a new local event, given the wall clock now: above every stamp issued or
    /// observed so far. Throws rather than leave `EventLimits.hlcWallRange` (a wall clock set
    /// beyond the year 4199, or a clock already at its end).
    public mutating func tick(now wallMillis: Int64) throws -> HLCTimestamp {
        var next = last
        if wallMillis > last.wallMillis {
            next = HLCTimestamp(wallMillis: wallMillis, counter: 0)
        } else if last.counter == .max {
            // 65,536 events in one millisecond: borrow the next millisecond rather than wrap.
            next = HLCTimestamp(wallMillis: last.wallMillis &+ 1, counter: 0)
        } else {
            next.counter += 1
        }
        guard EventLimits.hlcWallRange.contains(next.wallMillis) else {
            throw ConcordError(
                .invalidArgument,
                "the clock cannot issue a stamp after \(last): its wall part would leave the range \(EventLimits.hlcWallRange.described) ms (is this machine's clock right?)"
            )
        }
        last = next
        return next
    }

    /// Moves the clock past a stamp seen on an event from elsewhere.
    public mutating func observe(_ stamp: HLCTimestamp) {
        if stamp > last { last = stamp }
    }
}
