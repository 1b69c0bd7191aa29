/// The identity of an event everywhere: the origin that wrote it and its position in that origin's log.
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var origin: OriginID
    /// Gap-free, starting at 1.
    public var seq: UInt64

    public init(origin: OriginID, seq: UInt64) {
        self.origin = origin
        self.seq = seq
    }

    /// Parses the text form `ORIGIN:SEQ`: 32 lowercase hex digits, a colon, and the seq in decimal
    /// digits without sign or leading zeros, from 1 to 2^63 − 1 (`EventLimits.seqRange`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = Self.parseSeq(parts[1]) else {
            throw ConcordError(.invalidArgument, "event id '\(text.prefix(80))' is not of the form ORIGIN:SEQ (SEQ from 1 to \(EventLimits.seqRange.upperBound))")
        }
        self.init(origin: try OriginID(hex: String(parts[0])), seq: seq)
    }

    /// A seq written as decimal digits: no sign, no leading zero, within `EventLimits.seqRange`.
    static func parseSeq(_ text: Substring) -> UInt64? {
        let digits = text.utf8
        guard let first = digits.first, first != UInt8(ascii: "0"), digits.count <= 19,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let seq = UInt64(text), EventLimits.seqRange.contains(seq)
        else { return nil }
        return seq
    }

    /// `ORIGIN:SEQ`
    public var description: String { "\(origin.hex):\(seq)" }

    public static func < (lhs: EventID, rhs: EventID) -> Bool {
        (lhs.origin, lhs.seq) < (rhs.origin, rhs.seq)
    }
}
