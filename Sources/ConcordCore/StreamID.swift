/// The stream an event belongs to: one case, one meeting, one action, or any other named history.
///
/// Convention: `category:id` (`case:WY-2016-0012`, `meeting:NATN-2016-03`). The category is what
/// projections dispatch on; a stream without a colon has no category and projections ignore it.
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let maxLength = 200

    public let rawValue: String

    /// Accepts 1 to 200 bytes of printable, non-space ASCII or UTF-8 text.
    public init(_ rawValue: String) throws {
        try Identifier.validate(rawValue, what: "stream id", maxLength: Self.maxLength)
        self.rawValue = rawValue
    }

    /// For values read back from a store, which verification judges instead of refusing to read.
    package init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    /// The part before the first colon, if there is one.
    public var category: String? {
        guard let colon = rawValue.firstIndex(of: ":") else { return nil }
        return String(rawValue[..<colon])
    }

    public var description: String { rawValue }

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What kind of thing happened, such as `case.opened` or `decision.recorded`.
public struct EventType: Hashable, Sendable, CustomStringConvertible {
    public static let maxLength = 100

    public let rawValue: String

    public init(_ rawValue: String) throws {
        try Identifier.validate(rawValue, what: "event type", maxLength: Self.maxLength)
        self.rawValue = rawValue
    }

    package init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}

/// Shared rules for the short names that identify streams and event types.
package enum Identifier {
    package static func validate(_ value: String, what: String, maxLength: Int) throws {
        let bytes = value.utf8
        guard !bytes.isEmpty else {
            throw ConcordError(.invalidArgument, "\(what) must not be empty")
        }
        guard bytes.count <= maxLength else {
            throw ConcordError(.invalidArgument, "\(what) is \(bytes.count) bytes long; the limit is \(maxLength)")
        }
        // Spaces and control characters make ids ambiguous in tables, shells and logs.
        // Unicode properties only for non-ASCII scalars: every ASCII space is at or below 0x20.
        for scalar in value.unicodeScalars where scalar.value <= 0x20 || scalar.value == 0x7f
            || (scalar.value >= 0x80 && (scalar.value <= 0x9f || scalar.properties.isWhitespace))
        {
            throw ConcordError(
                .invalidArgument,
                "\(what) '\(value.prefix(80))' contains a space or control character (U+\(String(scalar.value, radix: 16, uppercase: true)))"
            )
        }
    }
}
