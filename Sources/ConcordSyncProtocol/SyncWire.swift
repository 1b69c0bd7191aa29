import ConcordCore

/// The JSON documents of the sync API (docs/openapi.yaml).
public enum SyncWire {
    public static let ndjsonContentType = "application/x-ndjson"
    public static let jsonContentType = "application/json"

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
        guard entries.count <= 100_000 else { throw ConcordError(.tooLarge, "\"\(field)\" names too many origins") }
        var vector = VersionVector()
        for (origin, seq) in entries {
            guard case .number(let text) = seq, let value = UInt64(text), value <= UInt64(Int64.max) else {
                throw ConcordError(.invalidJSON, "\"\(field)\" seqs must be whole numbers")
            }
            vector[try OriginID(hex: origin)] = value
        }
        return vector
    }

    /// A pull request: what the puller has, and how much it wants at most.
    public struct PullRequest: Sendable, Equatable {
        public var have: VersionVector
        public var maxEvents: Int
        /// Long-poll: when nothing is missing, wait up to this long for new events.
        public var waitSeconds: Int

        public init(have: VersionVector, maxEvents: Int, waitSeconds: Int = 0) {
            self.have = have
            self.maxEvents = maxEvents
            self.waitSeconds = waitSeconds
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("have", rawJSON: SyncWire.encode(have))
            json.field("maxEvents", maxEvents)
            json.field("waitSeconds", waitSeconds)
            return json.finish()
        }

        public init(json text: String, limits: SyncLimits) throws {
            let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 4, maxBytes: 8 << 20))
            guard case .object = object else { throw ConcordError(.invalidJSON, "a pull request must be a JSON object") }
            have = try SyncWire.decodeVector(object["have"], field: "have")
            maxEvents = limits.maxEventsPerBatch
            if let value = object["maxEvents"] {
                guard case .number(let text) = value, let number = Int(text), number >= 1 else {
                    throw ConcordError(.invalidJSON, "\"maxEvents\" must be a whole number from 1")
                }
                maxEvents = min(number, limits.maxEventsPerBatch)
            }
            waitSeconds = 0
            if let value = object["waitSeconds"] {
                guard case .number(let text) = value, let number = Int(text), number >= 0 else {
                    throw ConcordError(.invalidJSON, "\"waitSeconds\" must be a whole number from 0")
                }
                waitSeconds = min(number, limits.maxWaitSeconds)
            }
        }
    }

    /// The last line of a pull response: whether more is waiting, and the server's vector.
    public struct BatchEnd: Sendable, Equatable {
        public var more: Bool
        public var vector: VersionVector

        public init(more: Bool, vector: VersionVector) {
            self.more = more
            self.vector = vector
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("kind", "end")
            json.field("more", more)
            json.field("vector", rawJSON: SyncWire.encode(vector))
            return json.finish()
        }

        init(object: JSONValue) throws {
            guard case .bool(let more)? = object["more"] else { throw ConcordError(.invalidJSON, "the end line needs \"more\"") }
            self.more = more
            vector = try SyncWire.decodeVector(object["vector"], field: "vector")
        }
    }

    /// The answer to a push.
    public struct PushResult: Sendable, Equatable {
        public var accepted: Int
        public var alreadyHeld: Int
        public var vector: VersionVector

        public init(accepted: Int, alreadyHeld: Int, vector: VersionVector) {
            self.accepted = accepted
            self.alreadyHeld = alreadyHeld
            self.vector = vector
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("accepted", accepted)
            json.field("alreadyHeld", alreadyHeld)
            json.field("vector", rawJSON: SyncWire.encode(vector))
            return json.finish()
        }

        public init(json text: String) throws {
            let object = try JSONValue(parsing: text)
            guard case .number(let accepted)? = object["accepted"], let a = Int(accepted),
                  case .number(let held)? = object["alreadyHeld"], let h = Int(held)
            else { throw ConcordError(.invalidJSON, "a push result needs \"accepted\" and \"alreadyHeld\"") }
            self.accepted = a
            self.alreadyHeld = h
            vector = try SyncWire.decodeVector(object["vector"], field: "vector")
        }
    }

    /// `{"node": NAME, "vector": {…}}`, the answer to `GET /v1/vector`.
    public static func vectorDocument(node: String, vector: VersionVector) -> String {
        var json = JSONObjectWriter()
        json.field("node", node)
        json.field("vector", rawJSON: encode(vector))
        return json.finish()
    }

    public static func decodeVectorDocument(_ text: String) throws -> (node: String, vector: VersionVector) {
        let object = try JSONValue(parsing: text)
        return (object["node"]?.stringValue ?? "", try decodeVector(object["vector"], field: "vector"))
    }

    /// `{"error": {"code": …, "message": …}}`, the body of every 4xx and 5xx.
    public static func errorDocument(code: String, message: String) -> String {
        var inner = JSONObjectWriter()
        inner.field("code", code)
        inner.field("message", message)
        var json = JSONObjectWriter()
        json.field("error", rawJSON: inner.finish())
        return json.finish()
    }

    /// The HTTP status for an error: what the peer should change before trying again.
    public static func status(for code: ConcordError.Code) -> Int {
        switch code {
        case .unauthorized: 401
        case .forbidden, .untrustedOrigin: 403
        case .tooLarge: 413
        case .invalidEncoding: 400
        case .unsupportedEncoding: 415
        case .fork: 409
        case .invalidJSON, .invalidArgument, .invalidEvent: 422
        default: 500
        }
    }
}
