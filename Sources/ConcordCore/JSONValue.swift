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

extension JSONValue {
    /// The integer a JSON number's text denotes, if it denotes one that fits an Int64: `7`,
    /// `-7`, and also `7.0`, `7.00` or `7e0`, `70e-1` (JSON Schema's integers, which any
    /// implementation may write), but not `7.5` or `1e400`.
    public static func integer(fromNumber text: String) -> Int64? {
        if let plain = Int64(text) { return plain }
        var utf8 = Substring(text).utf8[...]
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { utf8 = utf8.dropFirst() }
        var digits: [UInt8] = []
        var fraction = 0
        var exponent = 0
        var inFraction = false
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte >= 0x30, byte <= 0x39 {
                digits.append(byte - 0x30)
                if inFraction { fraction += 1 }
            } else if byte == UInt8(ascii: "."), !inFraction {
                inFraction = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                guard let value = Int(Substring(utf8[utf8.index(after: index)...])), abs(value) <= 40 else { return nil }
                exponent = value
                break
            } else {
                return nil
            }
            index = utf8.index(after: index)
        }
        // value = digits × 10^(exponent − fraction): integral when the dropped digits are zeros.
        var shift = exponent - fraction
        while shift < 0 {
            guard digits.last == 0 else { return nil }
            digits.removeLast()
            shift += 1
        }
        digits += Array(repeating: 0, count: shift)
        var magnitude: UInt64 = 0
        for digit in digits {
            let (times, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow, !overflow2 else { return nil }
            magnitude = sum
        }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}
