/// The identity of an event everywhere: the origin that wrote it and its position in that origin's log.
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var origin: OriginID
    /// Gap-free, starting at 1.
    public var seq: UInt64

    public init(origin: OriginID, seq: UInt64) {
        self.origin = origin
        self.seq = seq
    }

    /// Parses the text form `ORIGIN:SEQ`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = UInt64(parts[1]), seq >= 1 else {
            throw ConcordError(.invalidArgument, "event id '\(text.prefix(80))' is not of the form ORIGIN:SEQ")
        }
        self.init(origin: try OriginID(hex: String(parts[0])), seq: seq)
    }

    /// `ORIGIN:SEQ`
    public var description: String { "\(origin.hex):\(seq)" }

    public static func < (lhs: EventID, rhs: EventID) -> Bool {
        (lhs.origin, lhs.seq) < (rhs.origin, rhs.seq)
    }
}
