/// The exchange form of events, seals and origin keys: one JSON object per line (NDJSON), used
/// by `concord export`/`import` and by sync. Every field needed to re-verify is carried exactly:
/// times as integer milliseconds, hashes and signatures as hex, `data` as the canonical object.
extension Event {
    public var exchangeJSON: String {
        var json = JSONObjectWriter()
        json.field("kind", "event")
        json.field("origin", origin.hex)
        json.field("seq", seq)
        json.field("stream", stream.rawValue)
        json.field("type", type.rawValue)
        json.field("schemaVersion", schemaVersion)
        json.field("hlcWallMillis", hlc.wallMillis)
        json.field("hlcCounter", hlc.counter)
        json.field("recordedAt", recordedAt)
        json.field("occurredAt", occurredAt)
        json.field("actor", actor)
        json.field("causationId", causationID)
        json.field("correlationId", correlationID)
        json.field("prev", strings: prev.map(\.description))
        json.field("data", rawJSON: payload)
        json.field("prevHash", prevHash.hex)
        json.field("hash", hash.hex)
        return json.finish()
    }

    /// Decodes and checks the shape of an exchanged event. Its hash is not trusted here:
    /// ingestion recomputes it.
    public init(exchange object: JSONValue) throws {
        let fields = ExchangeFields(object, what: "event")
        let payload = try fields.object("data")
        self.init(
            id: EventID(origin: try OriginID(hex: try fields.string("origin")), seq: try fields.unsigned("seq", min: 1)),
            stream: try StreamID(try fields.string("stream")),
            type: try EventType(try fields.string("type")),
            schemaVersion: UInt32(try fields.unsigned("schemaVersion", min: 1, max: UInt64(UInt32.max))),
            hlc: HLCTimestamp(
                wallMillis: try fields.integer("hlcWallMillis", min: 0, max: Int64(1) << 46),
                counter: UInt16(try fields.unsigned("hlcCounter", max: UInt64(UInt16.max)))
            ),
            recordedAt: try fields.integer("recordedAt"),
            occurredAt: try fields.integer("occurredAt"),
            actor: try fields.string("actor"),
            causationID: try fields.optionalString("causationId"),
            correlationID: try fields.optionalString("correlationId"),
            prev: try fields.strings("prev").map(EventID.init(parsing:)).sorted(),
            payload: payload.canonicalText,
            prevHash: try fields.hash("prevHash"),
            hash: try fields.hash("hash")
        )
        guard payload.canonicalText.utf8.count <= EventDraft.maxPayloadBytes else {
            throw ConcordError(.tooLarge, "event \(id) data is larger than \(EventDraft.maxPayloadBytes) bytes")
        }
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
            seq: try fields.unsigned("seq", min: 1),
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

    func integer(_ key: String, min: Int64 = .min, max: Int64 = .max) throws -> Int64 {
        guard case .number(let text)? = object[key], let value = Int64(text), value >= min, value <= max else {
            throw fail(key, "an integer from \(min) to \(max)")
        }
        return value
    }

    func unsigned(_ key: String, min: UInt64 = 0, max: UInt64 = UInt64(Int64.max)) throws -> UInt64 {
        guard case .number(let text)? = object[key], let value = UInt64(text), value >= min, value <= max else {
            throw fail(key, "an integer from \(min) to \(max)")
        }
        return value
    }

    func strings(_ key: String) throws -> [String] {
        guard case .array(let values)? = object[key] else { throw fail(key, "an array of strings") }
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
        guard case .string(let text)? = object[key], let bytes = Hex.decode(text), bytes.count == count else {
            throw fail(key, "\(count * 2) hex digits")
        }
        return bytes
    }

    func hash(_ key: String) throws -> EventHash {
        EventHash(bytes: try hex(key, count: 32))
    }
}
