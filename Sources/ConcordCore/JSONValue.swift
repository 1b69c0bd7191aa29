/// A JSON document as Concord stores it: parsed strictly, written canonically.
///
/// Event payloads are stored in canonical form (object keys sorted by their UTF-8 bytes, no
/// insignificant white space, strings escaped minimally, numbers kept exactly as written), so
/// the same data always has the same bytes and therefore the same hash, on every node.
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// The number's text exactly as it was written, already checked against JSON's grammar.
    /// Keeping the text avoids any binary floating-point rounding changing a hashed payload.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Keys are unique; the parser refuses duplicates.
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// True when the value nests containers deeper than `limit` (a scalar is 0 deep, an array
    /// or object one more than its deepest member). Stops descending once past the limit.
    public func isDeeper(than limit: Int) -> Bool {
        switch self {
        case .null, .bool, .number, .string: return false
        case .array(let elements):
            guard limit >= 1 else { return true }
            return elements.contains { $0.isDeeper(than: limit - 1) }
        case .object(let members):
            guard limit >= 1 else { return true }
            return members.values.contains { $0.isDeeper(than: limit - 1) }
        }
    }
}

/// Limits the parser enforces, so hostile input cannot exhaust the stack or memory.
public struct JSONLimits: Sendable {
    public var maxDepth: Int
    public var maxBytes: Int

    public init(maxDepth: Int = 64, maxBytes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }
}
