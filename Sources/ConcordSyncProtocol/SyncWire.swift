import ConcordCore

/// The JSON documents of the sync API (docs/openapi.yaml, docs/sync-protocol.md).
///
/// Every decoder is strict and bounded: unknown shapes are refused with `invalid-json`, origin
/// ids must be 32 lowercase hex digits, seqs whole numbers from 0 (in vectors: "none") or 1 up to
/// 2^63 − 1, hashes 64 lowercase hex digits, and no list or object names more than
/// `SyncLimits.maxVectorOrigins` origins.
public enum SyncWire {
    public static let ndjsonContentType = "application/x-ndjson"
    public static let jsonContentType = "application/json"

    // MARK: Vectors and heads

    /// `{"ORIGIN": SEQ, …}`
    public static func encode(_ vector: VersionVector) -> String {
        var json = JSONObjectWriter()
        for entry in vector.sorted { json.field(entry.origin.hex, entry.seq) }
        return json.finish()
    }

    public static func decodeVector(_ value: JSONValue?, field: String) throws -> VersionVector {
        guard case .object(let entries)? = value else {
            throw ConcordError(.invalidJSON, "\"\(field)\" must be an object of origin ids to seqs")
        }
        guard entries.count <= SyncLimits.maxVectorOrigins else {
            throw ConcordError(.invalidJSON, "\"\(field)\" names more than \(SyncLimits.maxVectorOrigins) origins, the limit")
        }
        var vector = VersionVector()
        for (origin, seq) in entries {
            guard case .number(let text) = seq, let signed = JSONValue.integer(fromNumber: text), signed >= 0, case let value = UInt64(signed) else {
                throw ConcordError(.invalidJSON, "\"\(field)\" seqs must be whole numbers from 0 to \(EventLimits.seqRange.upperBound)")
            }
            vector[try OriginID(hex: origin)] = value
        }
        return vector
    }

    /// `{"ORIGIN": "HASH", …}`: for each origin, the hash of one event the sender holds (which
    /// seq is said by the document the heads travel in).
    public static func encode(_ heads: [OriginID: EventHash]) -> String {
        var json = JSONObjectWriter()
        for (origin, hash) in heads.sorted(by: { $0.key < $1.key }) { json.field(origin.hex, hash.hex) }
        return json.finish()
    }

    public static func decodeHeads(_ value: JSONValue?, field: String) throws -> [OriginID: EventHash] {
        guard let value else { return [:] }
        guard case .object(let entries) = value else {
            throw ConcordError(.invalidJSON, "\"\(field)\" must be an object of origin ids to event hashes")
        }
        guard entries.count <= SyncLimits.maxVectorOrigins else {
            throw ConcordError(.invalidJSON, "\"\(field)\" names more than \(SyncLimits.maxVectorOrigins) origins, the limit")
        }
        var heads: [OriginID: EventHash] = [:]
        for (origin, hash) in entries {
            guard case .string(let text) = hash, let bytes = Hex.decodeLowercase(text), bytes.count == 32 else {
                throw ConcordError(.invalidJSON, "\"\(field)\" hashes must be 64 lowercase hex digits")
            }
            heads[try OriginID(hex: origin)] = EventHash(bytes: bytes)
        }
        return heads
    }

    static func decodeOrigins(_ value: JSONValue?, field: String) throws -> Set<OriginID> {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw ConcordError(.invalidJSON, "\"\(field)\" must be an array of origin ids") }
        guard items.count <= SyncLimits.maxVectorOrigins else {
            throw ConcordError(.invalidJSON, "\"\(field)\" names more than \(SyncLimits.maxVectorOrigins) origins, the limit")
        }
        return Set(try items.map { item in
            guard case .string(let text) = item else { throw ConcordError(.invalidJSON, "\"\(field)\" must be an array of origin ids") }
            return try OriginID(hex: text)
        })
    }

    static func integer(_ object: JSONValue, _ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = object[key] else { return nil }
        guard case .number(let text) = value, let number = JSONValue.integer(fromNumber: text).map(Int.init), range.contains(number) else {
            throw ConcordError(.invalidJSON, "\"\(key)\" must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    // MARK: Limits

    /// What a server accepts in one request and sends in one answer (`SyncLimits`), so that a
    /// client sizes its pushes to fit.
    public struct Limits: Sendable, Equatable {
        public var maxEvents: Int
        /// Bytes of origin, event and seal lines in one batch, once inflated.
        public var maxBytes: Int
        public var maxBodyBytes: Int
        public var maxInflateRatio: Int
        public var ratioFloorBytes: Int

        public init(maxEvents: Int, maxBytes: Int, maxBodyBytes: Int, maxInflateRatio: Int, ratioFloorBytes: Int) {
            self.maxEvents = maxEvents
            self.maxBytes = maxBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxInflateRatio = maxInflateRatio
            self.ratioFloorBytes = ratioFloorBytes
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("maxEvents", maxEvents)
            json.field("maxBytes", maxBytes)
            json.field("maxBodyBytes", maxBodyBytes)
            json.field("maxInflateRatio", maxInflateRatio)
            json.field("ratioFloorBytes", ratioFloorBytes)
            return json.finish()
        }

        init(object: JSONValue) throws {
            guard case .object = object else { throw ConcordError(.invalidJSON, "\"limits\" must be an object") }
            func required(_ key: String, _ minimum: Int) throws -> Int {
                guard let value = try SyncWire.integer(object, key, in: minimum...Int.max) else {
                    throw ConcordError(.invalidJSON, "\"limits\" needs \"\(key)\"")
                }
                return value
            }
            // No node may set limits below the protocol's floor: a peer saying so is refused.
            maxEvents = try required("maxEvents", SyncLimits.minimumBatchEvents)
            maxBytes = try required("maxBytes", SyncLimits.minimumBatchBytes)
            maxBodyBytes = try required("maxBodyBytes", SyncLimits.minimumBatchBytes)
            maxInflateRatio = try required("maxInflateRatio", SyncLimits.protocolInflateRatio)
            ratioFloorBytes = try required("ratioFloorBytes", SyncLimits.protocolRatioFloorBytes)
        }

        /// The budget of one batch sent to this peer: its events, and bytes such that even a body
        /// that does not compress (stored, with deflate's few bytes a block and gzip's header) stays
        /// within the body it takes as sent.
        public var budget: BatchBudget {
            BatchBudget(maxEvents: maxEvents, maxBytes: min(maxBytes, maxBodyBytes - maxBodyBytes / 256 - 1024))
        }
    }

    // MARK: Pull

    /// A pull request: what the puller has, and how much it takes at most.
    public struct PullRequest: Sendable, Equatable {
        public var have: VersionVector
        /// For each origin in `have`, the hash of the puller's event at `have[origin]`: the server
        /// compares it with its own event there and so finds a fork at the first contact.
        public var heads: [OriginID: EventHash]
        /// Origins the puller has set aside: the server sends none of their events.
        public var exclude: Set<OriginID>
        /// The most events, and bytes of origin, event and seal lines, the puller takes in one
        /// answer; at least `SyncLimits.minimumBatchEvents` and `minimumBatchBytes`.
        public var maxEvents: Int
        public var maxBytes: Int
        /// Long-poll: when nothing is missing, wait up to this long for new events.
        public var waitSeconds: Int
        /// The highest checkpoint number the puller holds of each signer. When present, the
        /// answer's last page carries (before its end line) the server's checkpoints numbered
        /// above these, with their signers' keys (docs/audit.md).
        public var checkpointsAfter: VersionVector?

        public init(
            have: VersionVector, heads: [OriginID: EventHash] = [:], exclude: Set<OriginID> = [], maxEvents: Int,
            maxBytes: Int = SyncLimits().maxInflatedBytes, waitSeconds: Int = 0
        ) {
            self.have = have
            self.heads = heads
            self.exclude = exclude
            self.maxEvents = maxEvents
            self.maxBytes = maxBytes
            self.waitSeconds = waitSeconds
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("have", rawJSON: SyncWire.encode(have))
            if !heads.isEmpty { json.field("heads", rawJSON: SyncWire.encode(heads)) }
            if !exclude.isEmpty { json.field("exclude", strings: exclude.sorted().map(\.hex)) }
            json.field("maxEvents", maxEvents)
            json.field("maxBytes", maxBytes)
            json.field("waitSeconds", waitSeconds)
            if let checkpointsAfter { json.field("checkpoints", rawJSON: SyncWire.encode(checkpointsAfter)) }
            return json.finish()
        }

        /// Decodes a pull request; the server's own limits cap what it asks for.
        public init(json text: String, limits: SyncLimits) throws {
            let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 4, maxBytes: SyncLimits.maxPullRequestBytes))
            guard case .object(let fields) = object else { throw ConcordError(.invalidJSON, "a pull request must be a JSON object") }
            let known: Set<String> = ["have", "heads", "exclude", "maxEvents", "maxBytes", "waitSeconds", "checkpoints"]
            if let unknown = fields.keys.filter({ !known.contains($0) }).min() {
                throw ConcordError(.invalidJSON, "a pull request has no field \"\(unknown.prefix(40))\"")
            }
            have = try SyncWire.decodeVector(object["have"], field: "have")
            heads = try SyncWire.decodeHeads(object["heads"], field: "heads")
            exclude = try SyncWire.decodeOrigins(object["exclude"], field: "exclude")
            maxEvents = min(try SyncWire.integer(object, "maxEvents", in: SyncLimits.minimumBatchEvents...Int.max) ?? limits.maxEventsPerBatch, limits.maxEventsPerBatch)
            maxBytes = min(try SyncWire.integer(object, "maxBytes", in: SyncLimits.minimumBatchBytes...Int.max) ?? limits.maxInflatedBytes, limits.maxInflatedBytes)
            waitSeconds = min(try SyncWire.integer(object, "waitSeconds", in: 0...SyncLimits.maxWaitSeconds) ?? 0, limits.maxWaitSeconds)
            checkpointsAfter = object["checkpoints"] == nil ? nil : try SyncWire.decodeVector(object["checkpoints"], field: "checkpoints")
        }

        public var budget: BatchBudget { BatchBudget(maxEvents: maxEvents, maxBytes: maxBytes) }
    }

    /// An origin the sender could not (or would not) take or send, and why: a refusal of the
    /// origin's events, a fork, or a run too large for the receiver's limits.
    public struct Refusal: Sendable, Equatable {
        public var origin: OriginID
        /// The first seq concerned (for a fork, the seq signed twice).
        public var seq: UInt64
        public var code: String
        public var message: String

        public init(origin: OriginID, seq: UInt64, code: String, message: String) {
            self.origin = origin
            self.seq = seq
            self.code = code
            self.message = message
        }

        public init(_ refusal: OriginRefusal, seq: UInt64) {
            self.init(origin: refusal.origin, seq: refusal.proof?.seq ?? seq, code: refusal.code.rawValue, message: refusal.message)
        }

        /// A peer's text as this node prints and keeps it: at most `limit` characters, control
        /// characters (terminal escapes among them) replaced by U+FFFD.
        public static func printable(_ text: String, limit: Int) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit).map { scalar in
                scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) ? "\u{FFFD}" : scalar
            }))
        }

        public var originRefusal: OriginRefusal {
            OriginRefusal(origin: origin, code: ConcordError.Code(rawValue: code), message: message)
        }

        var json: String {
            var json = JSONObjectWriter()
            json.field("origin", origin.hex)
            json.field("seq", seq)
            json.field("code", code)
            json.field("message", message)
            return json.finish()
        }

        init(object: JSONValue) throws {
            guard case .string(let origin)? = object["origin"], case .string(let code)? = object["code"],
                  case .string(let message)? = object["message"], case .number(let seqText)? = object["seq"],
                  let signed = JSONValue.integer(fromNumber: seqText), signed >= 0, case let seq = UInt64(signed)
            else { throw ConcordError(.invalidJSON, "each refused origin needs \"origin\", \"seq\", \"code\" and \"message\"") }
            self.init(origin: try OriginID(hex: origin), seq: seq, code: Self.printable(code, limit: 100), message: Self.printable(message, limit: 800))
        }

        static func list(_ refusals: [Refusal]) -> String { "[" + refusals.map(\.json).joined(separator: ",") + "]" }

        static func decodeList(_ value: JSONValue?) throws -> [Refusal] {
            guard let value else { return [] }
            guard case .array(let items) = value, items.count <= SyncLimits.maxVectorOrigins else {
                throw ConcordError(.invalidJSON, "\"refused\" must be an array of at most \(SyncLimits.maxVectorOrigins) refused origins")
            }
            return try items.map(Refusal.init(object:))
        }
    }

    /// The last line of a pull answer.
    public struct BatchEnd: Sendable, Equatable {
        /// Whether the puller still lacks events the server could send.
        public var more: Bool
        /// The server's version vector.
        public var vector: VersionVector
        /// For each origin of which the puller has more than the server (`have[o] > vector[o] > 0`),
        /// the hash of the server's event at `vector[o]`: the puller compares it with its own and so
        /// finds a fork the server could not see.
        public var heads: [OriginID: EventHash]
        /// Runs the server cannot send within the puller's limits (set aside, never silently skipped).
        public var setAside: [Refusal]
        /// The server's own limits, for the puller's pushes.
        public var limits: Limits?
        /// The server's openings number (see SyncWire+Openings): when it differs from the one the
        /// puller last reconciled with, the puller asks for the openings of its stubs.
        public var openings: UInt64?
        /// The cursor of the server's newest stub (`SyncWire.StubsPage`): when it moved, a peer
        /// holding openings asks for the stubs stored since.
        public var stubs: Int64?
        /// The highest checkpoint number the server holds of each signer (docs/audit.md): a
        /// puller that holds fewer asks for them, one that holds more pushes them. Absent from a
        /// server that keeps no checkpoints.
        public var checkpoints: VersionVector?

        public init(
            more: Bool, vector: VersionVector, heads: [OriginID: EventHash] = [:], setAside: [Refusal] = [], limits: Limits? = nil,
            openings: UInt64? = nil, stubs: Int64? = nil, checkpoints: VersionVector? = nil
        ) {
            self.more = more
            self.vector = vector
            self.heads = heads
            self.setAside = setAside
            self.limits = limits
            self.openings = openings
            self.stubs = stubs
            self.checkpoints = checkpoints
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("kind", "end")
            json.field("more", more)
            json.field("vector", rawJSON: SyncWire.encode(vector))
            if !heads.isEmpty { json.field("heads", rawJSON: SyncWire.encode(heads)) }
            if !setAside.isEmpty { json.field("setAside", rawJSON: Refusal.list(setAside)) }
            if let limits { json.field("limits", rawJSON: limits.json) }
            if let openings { json.field("openings", openings) }
            if let stubs { json.field("stubs", stubs) }
            if let checkpoints { json.field("checkpoints", rawJSON: SyncWire.encode(checkpoints)) }
            return json.finish()
        }

        init(object: JSONValue) throws {
            guard case .bool(let more)? = object["more"] else { throw ConcordError(.invalidJSON, "the end line needs \"more\"") }
            self.more = more
            vector = try SyncWire.decodeVector(object["vector"], field: "vector")
            heads = try SyncWire.decodeHeads(object["heads"], field: "heads")
            setAside = try Refusal.decodeList(object["setAside"])
            limits = try object["limits"].map(Limits.init(object:))
            openings = try SyncWire.integer(object, "openings", in: 0...Int.max).map(UInt64.init)
            stubs = try SyncWire.integer(object, "stubs", in: 0...Int.max).map(Int64.init)
            checkpoints = object["checkpoints"] == nil ? nil : try SyncWire.decodeVector(object["checkpoints"], field: "checkpoints")
        }
    }

    // MARK: Push

    /// The answer to a push.
    public struct PushResult: Sendable, Equatable {
        public var accepted: Int
        public var alreadyHeld: Int
        public var vector: VersionVector
        /// Origins of the batch the server refused and set aside (the rest was stored).
        public var refused: [Refusal]

        public init(accepted: Int, alreadyHeld: Int, vector: VersionVector, refused: [Refusal] = []) {
            self.accepted = accepted
            self.alreadyHeld = alreadyHeld
            self.vector = vector
            self.refused = refused
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("accepted", accepted)
            json.field("alreadyHeld", alreadyHeld)
            json.field("vector", rawJSON: SyncWire.encode(vector))
            json.field("refused", rawJSON: Refusal.list(refused))
            return json.finish()
        }

        public init(json text: String) throws {
            let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 8, maxBytes: SyncLimits.maxEndLineBytes))
            guard let accepted = try SyncWire.integer(object, "accepted", in: 0...Int.max),
                  let held = try SyncWire.integer(object, "alreadyHeld", in: 0...Int.max)
            else { throw ConcordError(.invalidJSON, "a push result needs \"accepted\" and \"alreadyHeld\"") }
            self.accepted = accepted
            self.alreadyHeld = held
            vector = try SyncWire.decodeVector(object["vector"], field: "vector")
            refused = try Refusal.decodeList(object["refused"])
        }
    }

    // MARK: Vector document and errors

    /// `{"node": NAME, "vector": {…}, "limits": {…}}`, the answer to `GET /v1/vector`.
    public static func vectorDocument(node: String, vector: VersionVector, limits: Limits, openings: UInt64? = nil, stubs: Int64? = nil) -> String {
        var json = JSONObjectWriter()
        json.field("node", node)
        json.field("vector", rawJSON: encode(vector))
        json.field("limits", rawJSON: limits.json)
        if let openings { json.field("openings", openings) }
        if let stubs { json.field("stubs", stubs) }
        return json.finish()
    }

    /// A decoded `GET /v1/vector` answer.
    public struct VectorDocument: Sendable, Equatable {
        public var node: String
        public var vector: VersionVector
        /// Nil from a peer that does not say them.
        public var limits: Limits?
        /// The peer's openings number and stubs cursor (SyncWire+Openings), when it gives them.
        public var openings: UInt64?
        public var stubs: Int64?

        public init(node: String, vector: VersionVector, limits: Limits?, openings: UInt64? = nil, stubs: Int64? = nil) {
            self.node = node
            self.vector = vector
            self.limits = limits
            self.openings = openings
            self.stubs = stubs
        }
    }

    public static func decodeVectorDocument(_ text: String) throws -> VectorDocument {
        let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 4, maxBytes: SyncLimits.maxEndLineBytes))
        return VectorDocument(
            node: object["node"]?.stringValue ?? "", vector: try decodeVector(object["vector"], field: "vector"),
            limits: try object["limits"].map(Limits.init(object:)),
            openings: try integer(object, "openings", in: 0...Int.max).map(UInt64.init), stubs: try integer(object, "stubs", in: 0...Int.max).map(Int64.init)
        )
    }

    /// `{"error": {"code": …, "message": …}}`, the body of every 4xx and 5xx; a push refused
    /// whole because every origin in it was refused also lists them (`refused`).
    public static func errorDocument(code: String, message: String, refused: [Refusal] = []) -> String {
        var inner = JSONObjectWriter()
        inner.field("code", code)
        inner.field("message", message)
        var json = JSONObjectWriter()
        json.field("error", rawJSON: inner.finish())
        if !refused.isEmpty { json.field("refused", rawJSON: Refusal.list(refused)) }
        return json.finish()
    }

    /// The origins listed in an error document, if any.
    public static func refusals(inErrorDocument text: String) -> [Refusal] {
        guard let object = try? JSONValue(parsing: text, limits: JSONLimits(maxDepth: 8, maxBytes: SyncLimits.maxEndLineBytes)) else { return [] }
        return (try? Refusal.decodeList(object["refused"])) ?? []
    }

    /// The HTTP status for an error: what the peer should change before trying again.
    public static func status(for code: ConcordError.Code) -> Int {
        switch code {
        case .unauthorized: 401
        case .forbidden, .untrustedOrigin, .tooManyOrigins: 403
        case .tooLarge: 413
        case .invalidEncoding: 400
        case .unsupportedEncoding: 415
        case .fork: 409
        case .invalidJSON, .invalidArgument, .invalidEvent, .clockAhead: 422
        case .tooManyRequests: 429
        case .timeout: 408
        default: 500
        }
    }
}
