/// The exchange form of events, seals and origin keys: one JSON object per line (NDJSON), used
/// by `concord export`/`import` and by sync. Every field needed to re-verify is carried exactly:
/// times as integer milliseconds, hashes and signatures as hex, `data` as the canonical object.
extension Event {
    /// The exchange line: format 1 as always; format 2 adds `format` and `commitment`, and carries
    /// the opening (`salt`, `actor`, `causationId`, `correlationId`, `data`) only when it is held
    /// and shared (`exchangeJSON(withOpening:)`).
    public var exchangeJSON: String { exchangeJSON(withOpening: true) }

    /// The line with the opening left out when `withOpening` is false or the opening is not held:
    /// a stub (format 2 only; a format-1 event always travels whole).
    public func exchangeJSON(withOpening: Bool) -> String {
        exchangeJSON(withOpening: withOpening, leaving: [])
    }

    /// Values a reader recomputes, which a sync line may leave out (docs/sync-protocol.md,
    /// "Compact lines"): 64 hex digits each, and as random as they look, so each costs more
    /// on the wire than the whole compressed rest of a small event's line.
    public struct RecomputedFields: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `hash`: the reader hashes the event itself.
        public static let hash = RecomputedFields(rawValue: 1)
        /// `commitment`, when the opening travels: the reader takes it over the opening.
        public static let commitment = RecomputedFields(rawValue: 2)
        /// `prevHash`, when the line before it in the body carries the origin's event at seq - 1.
        public static let prevHash = RecomputedFields(rawValue: 4)
    }

    /// The line with the given recomputable fields left out (`RecomputedFields`).
    public func exchangeJSON(withOpening: Bool, leaving left: RecomputedFields) -> String {
        var json = JSONObjectWriter()
        json.field("kind", "event")
        if commitment != nil { json.field("format", UInt64(2)) }
        json.field("origin", origin.hex)
        json.field("seq", seq)
        json.field("stream", stream.rawValue)
        json.field("type", type.rawValue)
        json.field("schemaVersion", schemaVersion)
        json.field("hlcWallMillis", hlc.wallMillis)
        json.field("hlcCounter", hlc.counter)
        json.field("recordedAt", recordedAt)
        json.field("occurredAt", occurredAt)
        if let commitment {
            json.field("prev", strings: prev.map(\.description))
            let opening = withOpening && disclosure == .full
            if !(opening && left.contains(.commitment)) { json.field("commitment", commitment.hex) }
            if opening {
                json.field("salt", Hex.encode(salt))
                json.field("actor", actor)
                json.field("causationId", causationID)
                json.field("correlationId", correlationID)
                json.field("data", rawJSON: payload)
            }
        } else {
            json.field("actor", actor)
            json.field("causationId", causationID)
            json.field("correlationId", correlationID)
            json.field("prev", strings: prev.map(\.description))
            json.field("data", rawJSON: payload)
        }
        if !left.contains(.prevHash) { json.field("prevHash", prevHash.hex) }
        if !left.contains(.hash) { json.field("hash", hash.hex) }
        return json.finish()
    }

    /// The length of `exchangeJSON` in bytes, plus its newline, computed without writing it: the
    /// weight that batch and seal budgets count (`EventLimits.maxRunLineBytes`). A test holds it
    /// equal to the written line.
    public var exchangeLineBytes: Int { exchangeLineBytes(withOpening: true) }

    /// The length of `exchangeJSON(withOpening:)` plus its newline.
    public func exchangeLineBytes(withOpening: Bool) -> Int {
        guard commitment != nil else { return fullLineBytes }
        // `"format":2,` and `"commitment":"…",` are added; the opening's fields go or gain `"salt":"…",`.
        guard withOpening, disclosure == .full else {
            return fullLineBytes + 11 + 80 - 49 - JSONValue.escapedLength(actor) - 4 - 4 - payload.utf8.count
                + (4 - (causationID.map(JSONValue.escapedLength) ?? 4)) + (4 - (correlationID.map(JSONValue.escapedLength) ?? 4))
        }
        return fullLineBytes + 11 + 80 + 74
    }

    private var fullLineBytes: Int {
        // Keys, quotes, colons, commas and braces of the fixed fields, then each value.
        var bytes = 212 + 32 + 64 + 64 + 1
        bytes += Self.decimalLength(Int64(bitPattern: seq)) + Self.decimalLength(Int64(schemaVersion))
        bytes += Self.decimalLength(hlc.wallMillis) + Self.decimalLength(Int64(hlc.counter))
        bytes += Self.decimalLength(recordedAt) + Self.decimalLength(occurredAt)
        bytes += JSONValue.escapedLength(stream.rawValue) + JSONValue.escapedLength(type.rawValue) + JSONValue.escapedLength(actor)
        bytes += causationID.map(JSONValue.escapedLength) ?? 4
        bytes += correlationID.map(JSONValue.escapedLength) ?? 4
        for (index, parent) in prev.enumerated() {
            bytes += (index > 0 ? 1 : 0) + 2 + 32 + 1 + Self.decimalLength(Int64(bitPattern: parent.seq))
        }
        return bytes + payload.utf8.count
    }

    private static func decimalLength(_ value: Int64) -> Int {
        var length = value < 0 ? 2 : 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        return length
    }

    /// Decodes an exchanged event line as the next of a body (a sync body, an export, an
    /// openings exchange): a compact line may leave out `prevHash` when `body`'s last event line
    /// of its origin was the event at seq - 1 (`CompactBody`).
    public init(exchange object: JSONValue, in body: inout CompactBody) throws {
        try self.init(exchange: object) { id in
            guard let previous = body.lastEvent[id.origin], previous.seq &+ 1 == id.seq else { return nil }
            return previous.hash
        }
        body.lastEvent[origin] = (seq, hash)
    }

    /// Decodes an exchanged event and checks every field against its range (`EventLimits`), so
    /// nothing stored from it can make later code trap. Its hash is not trusted here: ingestion
    /// recomputes it.
    public init(exchange object: JSONValue) throws {
        try self.init(exchange: object, previousHash: { _ in nil })
    }

    /// Decodes an exchanged event whose line may leave out the values a reader recomputes
    /// (`RecomputedFields`): `hash` is then the hash of the event as read, `commitment` (with
    /// the opening) the hash of the opening, and `prevHash` is what `previousHash` gives for the
    /// event's id: the hash of its origin's event at seq - 1 when the body's last event line of
    /// that origin before it is that event (the reader knows), else nil, and then the line must
    /// carry `prevHash` (but at seq 1, where it is the genesis hash). Values a line carries are
    /// kept as given, for verification to check.
    public init(exchange object: JSONValue, previousHash: (EventID) -> EventHash?) throws {
        let fields = ExchangeFields(object, what: "event")
        let format = object["format"] == nil ? 1 : try fields.unsigned("format", min: 1, max: 2)
        let id = EventID(origin: try OriginID(hex: try fields.string("origin")), seq: try fields.seq("seq"))
        var commitment: EventHash?
        var salt: [UInt8] = []
        var disclosure = Disclosure.full
        if format == 2 {
            // Left out only beside the opening it is taken over (computed below).
            commitment = object["commitment"] == nil && object["data"] != nil ? nil : try fields.hash("commitment")
            if object["data"] == nil {
                // A stub: none of the opening's fields may be present.
                for key in ["salt", "actor", "causationId", "correlationId"] where object[key] != nil {
                    throw ConcordError(.invalidJSON, "event \(id) has no field \"data\" (a stub) but has \"\(key)\": a stub carries no part of its opening")
                }
                disclosure = .withheld
            } else {
                salt = try fields.hex("salt", count: EventLimits.saltBytes)
            }
        }
        let payload = disclosure == .full ? try fields.object("data") : JSONValue.object([:])
        let actor = disclosure == .full ? try fields.string("actor") : ""
        let causationID = try fields.optionalString("causationId")
        let correlationID = try fields.optionalString("correlationId")
        if disclosure == .full { try Label.validate(actor, what: "event field \"actor\"", required: true) }
        try Label.validate(causationID, what: "event field \"causationId\"", required: false)
        try Label.validate(correlationID, what: "event field \"correlationId\"", required: false)
        self.init(
            id: id,
            stream: try StreamID(try fields.string("stream")),
            type: try EventType(try fields.string("type")),
            schemaVersion: UInt32(try fields.unsigned("schemaVersion", min: 1, max: UInt64(UInt32.max))),
            hlc: HLCTimestamp(
                wallMillis: try fields.integer("hlcWallMillis", in: EventLimits.hlcWallRange),
                counter: UInt16(try fields.unsigned("hlcCounter", max: UInt64(UInt16.max)))
            ),
            recordedAt: try fields.integer("recordedAt", in: EventLimits.timeRange),
            occurredAt: try fields.integer("occurredAt", in: EventLimits.timeRange),
            actor: actor,
            causationID: causationID,
            correlationID: correlationID,
            prev: try Self.decodePrev(try fields.strings("prev", max: EventLimits.maxPrevCount), of: id),
            payload: payload.canonicalText,
            prevHash: .genesis,
            hash: .genesis,
            commitment: commitment,
            salt: salt,
            disclosure: disclosure
        )
        guard self.payload.utf8.count <= EventLimits.maxPayloadBytes else {
            throw ConcordError(.tooLarge, "event \(id) data is larger than \(EventLimits.maxPayloadBytes) bytes in canonical form, the limit")
        }
        guard !payload.isDeeper(than: EventLimits.maxPayloadDepth) else {
            throw ConcordError(.tooLarge, "event \(id) data is nested deeper than \(EventLimits.maxPayloadDepth) levels, the limit")
        }
        if object["prevHash"] != nil {
            prevHash = try fields.hash("prevHash")
        } else if let previous = previousHash(id) {
            prevHash = previous
        } else if id.seq == 1 {
            prevHash = .genesis
        } else {
            throw ConcordError(.invalidJSON, "event \(id) has no field \"prevHash\": only a line that follows the line of its origin's event at seq \(id.seq - 1) in a sync body may leave it out")
        }
        if format == 2, self.commitment == nil { self.commitment = computeCommitment() }
        hash = object["hash"] != nil ? try fields.hash("hash") : computeHash()
    }

    /// `prev` ids: strictly ascending by origin, then seq (so no id twice), and none of the event
    /// itself or of a later event of its own origin (an event can only have seen earlier ones).
    static func decodePrev(_ texts: [String], of id: EventID) throws -> [EventID] {
        var prev: [EventID] = []
        prev.reserveCapacity(texts.count)
        for text in texts {
            let parent = try EventID(parsing: text)
            if let last = prev.last, !(last < parent) {
                throw ConcordError(.invalidJSON, "event \(id) field \"prev\" must list ids in ascending order (origin, then seq), each once")
            }
            if parent.origin == id.origin, parent.seq >= id.seq {
                throw ConcordError(.invalidJSON, "event \(id) names \(parent) in \"prev\": an event can only follow earlier events of its origin")
            }
            prev.append(parent)
        }
        return prev
    }
}

extension Seal {
    public var exchangeJSON: String {
        var json = JSONObjectWriter()
        json.field("kind", "seal")
        json.field("origin", origin.hex)
        json.field("seq", seq)
        json.field("hash", hash.hex)
        json.field("signature", Hex.encode(signature))
        return json.finish()
    }

    public init(exchange object: JSONValue) throws {
        let fields = ExchangeFields(object, what: "seal")
        self.init(
            origin: try OriginID(hex: try fields.string("origin")),
            seq: try fields.seq("seq"),
            hash: try fields.hash("hash"),
            signature: try fields.hex("signature", count: 64)
        )
    }
}

extension OriginKey {
    public var exchangeJSON: String {
        var json = JSONObjectWriter()
        json.field("kind", "origin")
        json.field("origin", origin.hex)
        json.field("publicKey", Hex.encode(publicKey))
        return json.finish()
    }

    public init(exchange object: JSONValue) throws {
        let fields = ExchangeFields(object, what: "origin")
        self.init(origin: try OriginID(hex: try fields.string("origin")), publicKey: try fields.hex("publicKey", count: 32))
    }
}

/// Typed access to an exchanged object's fields, with errors naming the field.
struct ExchangeFields {
    let object: JSONValue
    let what: String

    init(_ object: JSONValue, what: String) {
        self.object = object
        self.what = what
    }

    private func fail(_ key: String, _ expected: String) -> ConcordError {
        ConcordError(.invalidJSON, "\(what) field \"\(key)\" must be \(expected)")
    }

    func string(_ key: String) throws -> String {
        guard case .string(let value)? = object[key] else { throw fail(key, "a string") }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw fail(key, "a string or null")
        }
    }

    /// A JSON integer (digits, an optional minus sign; no fraction or exponent) in the range.
    func integer(_ key: String, in range: ClosedRange<Int64>) throws -> Int64 {
        guard case .number(let text)? = object[key], let value = JSONValue.integer(fromNumber: text), range.contains(value) else {
            throw fail(key, "an integer \(range.described)")
        }
        return value
    }

    func unsigned(_ key: String, min: UInt64 = 0, max: UInt64 = UInt64(Int64.max)) throws -> UInt64 {
        guard case .number(let text)? = object[key], let signed = JSONValue.integer(fromNumber: text), signed >= 0,
              case let value = UInt64(signed), value >= min, value <= max else {
            throw fail(key, "an integer from \(min) to \(max)")
        }
        return value
    }

    func seq(_ key: String) throws -> UInt64 {
        try unsigned(key, min: EventLimits.seqRange.lowerBound, max: EventLimits.seqRange.upperBound)
    }

    func strings(_ key: String, max: Int = .max) throws -> [String] {
        guard case .array(let values)? = object[key] else { throw fail(key, "an array of strings") }
        guard values.count <= max else { throw fail(key, "an array of at most \(max) strings") }
        return try values.map { value in
            guard case .string(let text) = value else { throw fail(key, "an array of strings") }
            return text
        }
    }

    func object(_ key: String) throws -> JSONValue {
        guard let value = object[key], case .object = value else { throw fail(key, "a JSON object") }
        return value
    }

    func hex(_ key: String, count: Int) throws -> [UInt8] {
        guard case .string(let text)? = object[key], let bytes = Hex.decodeLowercase(text), bytes.count == count else {
            throw fail(key, "\(count * 2) lowercase hex digits")
        }
        return bytes
    }

    func hash(_ key: String) throws -> EventHash {
        EventHash(bytes: try hex(key, count: 32))
    }
}

/// What the event lines read so far in one body say, for the compact lines after them: each
/// origin's last event line (docs/sync-protocol.md#compact-lines). One per body; every reader of
/// event lines (sync, import) keeps one.
public struct CompactBody: Sendable {
    fileprivate var lastEvent: [OriginID: (seq: UInt64, hash: EventHash)] = [:]

    public init() {}
}
