/// The range of every event field and the size of everything made from events: one definition,
/// used by the writer (`append`, `import --new`), every decoder (`import`, sync, both ways) and
/// every sender, so that anything a node can record it can also send and every peer accepts.
///
/// docs/storage-format.md ("Ranges and limits") lists the same values; a test holds them equal.
public enum EventLimits {
    /// Seqs of events, of `prev` ids, of seals and in version vectors: from 1 to 2^63 − 1, so that
    /// every seq is also a non-negative signed 64-bit integer (SQL's INTEGER).
    public static let seqRange: ClosedRange<UInt64> = 1...UInt64(Int64.max)

    /// `recordedAt` and `occurredAt`, ms since the epoch: 0001-01-01T00:00:00.000Z through
    /// 9999-12-31T23:59:59.999Z, the years ISO 8601 writes with four digits.
    public static let timeRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// The hybrid logical clock's wall part, ms since the epoch: 1970 up to 2^46 − 1 (in the year
    /// 4199). Packed with the counter (`wall << 16 | counter`) it stays a non-negative Int64.
    public static let hlcWallRange: ClosedRange<Int64> = 0...((1 << 46) - 1)

    /// How far an event's clock may run ahead of the receiving node's own clock. A stamp further
    /// ahead would drag every later stamp of the receiver with it, so it is refused until the
    /// receiver's clock has caught up (the writer's clock was wrong; the event is not lost).
    public static let maxClockAheadMillis: Int64 = 10 * 60 * 1000

    public static let schemaVersionRange: ClosedRange<UInt32> = 1...UInt32.max

    /// Stream ids: 1 to 200 bytes, no spaces or control characters (`Identifier`).
    public static let maxStreamBytes = 200
    /// Event types: 1 to 100 bytes, the same characters as stream ids.
    public static let maxTypeBytes = 100
    /// Actor names (1 to 256 bytes) and causation and correlation ids (0 to 256 bytes): UTF-8
    /// without control characters (U+0000 to U+001F and U+007F).
    public static let maxLabelBytes = 256

    /// Event data: a JSON object of at most 1 MiB in canonical form…
    public static let maxPayloadBytes = 1 << 20
    /// …nested at most 64 deep. Depth counts containers: a scalar is 0 deep, an array or object
    /// one more than its deepest member, so `{}` is 1 deep and `{"a":[1]}` 2.
    public static let maxPayloadDepth = 64
    /// A format-2 event's salt: exactly 32 random bytes (64 lowercase hex digits on the wire).
    public static let saltBytes = 32
    /// A JSON number's text is at most 100 characters (the strict parser's rule).
    public static let maxNumberCharacters = 100

    /// `prev` names at most this many heads (one per origin writing concurrently to the stream).
    public static let maxPrevCount = 1024

    /// A writer seals its chain at least every this many events and every `maxRunLineBytes`, so
    /// that any run of an origin's events between two seals fits one batch of every peer.
    /// Receivers refuse longer unsealed runs: nobody could send them on.
    public static let maxEventsPerSeal = 1000
    /// The most exchange-line bytes (`Event.exchangeLineBytes`, newline included) a run between
    /// two seals may hold.
    public static let maxRunLineBytes = 4 << 20

    /// The longest exchange line (with its newline) of any event within these limits: the
    /// payload, every string at its longest and fully escaped, and `prev` at its longest.
    public static let maxEventLineBytes = maxPayloadBytes + 64 * 1024

    /// Depth of an exchange line: the event object holds `data`, one level above the payload.
    public static let maxExchangeLineDepth = maxPayloadDepth + 1

    /// The most origins one store holds (so that every vector, with its heads, fits one request).
    public static let maxOrigins = 10_000
    /// Of those, the places only the store's own new incarnations may take: events of a new origin
    /// from elsewhere are refused (`too-many-origins`) once the store holds
    /// `maxOrigins - originsKeptForIncarnations`, so a node full of others' origins can still
    /// start an incarnation (a restored copy) and sync it.
    public static let originsKeptForIncarnations = 100
    /// The most origins a store takes from others.
    public static var maxReceivedOrigins: Int { maxOrigins - originsKeptForIncarnations }

    /// The JSON parser limits for one exchange or import line.
    public static var exchangeLineJSON: JSONLimits {
        JSONLimits(maxDepth: maxExchangeLineDepth, maxBytes: maxEventLineBytes)
    }
}

extension ClosedRange where Bound == Int64 {
    /// `from A to B`, for error messages.
    var described: String { "from \(lowerBound) to \(upperBound)" }
}

extension Event {
    /// The first field of this event outside its range (`EventLimits`), or nil when all are in
    /// range. What `Event(exchange:)` refuses, checked on an event already in hand: one an older
    /// release stored before these checks, which a node must then neither send on nor fold
    /// blindly.
    public var rangeViolation: String? {
        guard origin.hex.utf8.count == 32, origin.hex.utf8.allSatisfy(Hex.isLowerHexDigit) else { return "its origin id is not 32 lowercase hex digits" }
        guard hash.bytes.count == 32, prevHash.bytes.count == 32 else { return "its hash or previous hash is not 32 bytes" }
        guard payload.utf8.first == UInt8(ascii: "{"), payload.utf8.last == UInt8(ascii: "}") else { return "its data is not a JSON object" }
        guard EventLimits.seqRange.contains(seq) else { return "seq \(seq) is outside 1…\(EventLimits.seqRange.upperBound)" }
        guard EventLimits.hlcWallRange.contains(hlc.wallMillis) else { return "its clock's wall time \(hlc.wallMillis) is outside \(EventLimits.hlcWallRange.described)" }
        guard EventLimits.timeRange.contains(recordedAt) else { return "recordedAt \(recordedAt) is outside \(EventLimits.timeRange.described)" }
        guard EventLimits.timeRange.contains(occurredAt) else { return "occurredAt \(occurredAt) is outside \(EventLimits.timeRange.described)" }
        guard schemaVersion >= 1 else { return "schema version 0" }
        if let commitment, commitment.bytes.count != 32 { return "its commitment is not 32 bytes" }
        if commitment != nil, disclosure == .full, salt.count != EventLimits.saltBytes { return "its salt is not \(EventLimits.saltBytes) bytes" }
        do {
            try Identifier.validate(stream.rawValue, what: "stream id", maxLength: EventLimits.maxStreamBytes)
            try Identifier.validate(type.rawValue, what: "event type", maxLength: EventLimits.maxTypeBytes)
            try Label.validate(actor, what: "actor", required: disclosure == .full)
            try Label.validate(causationID, what: "causation id", required: false)
            try Label.validate(correlationID, what: "correlation id", required: false)
        } catch let error as ConcordError {
            return error.message
        } catch {
            return "\(error)"
        }
        guard prev.count <= EventLimits.maxPrevCount else { return "prev names \(prev.count) events, more than \(EventLimits.maxPrevCount)" }
        for (index, parent) in prev.enumerated() {
            guard EventLimits.seqRange.contains(parent.seq), parent.origin.hex.utf8.count == 32 else { return "prev names \(parent), not an event id" }
            if index > 0, !(prev[index - 1] < parent) { return "prev is not in ascending order" }
            if parent.origin == origin, parent.seq >= seq { return "prev names \(parent), not an earlier event of its origin" }
        }
        guard payload.utf8.count <= EventLimits.maxPayloadBytes else { return "its data is \(payload.utf8.count) bytes, more than \(EventLimits.maxPayloadBytes)" }
        guard JSONValue.canonicalDepth(of: payload) <= EventLimits.maxPayloadDepth else { return "its data is nested deeper than \(EventLimits.maxPayloadDepth)" }
        return nil
    }
}

extension JSONValue {
    /// How deeply canonical JSON text nests containers (a scalar 0, `{}` 1), by one scan of its
    /// bytes; brackets inside strings do not count.
    public static func canonicalDepth(of text: String) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in text.utf8 {
            if inString {
                if escaped { escaped = false } else if byte == 0x5c { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x7b, 0x5b:
                depth += 1
                deepest = max(deepest, depth)
            case 0x7d, 0x5d: depth -= 1
            default: break
            }
        }
        return deepest
    }
}
