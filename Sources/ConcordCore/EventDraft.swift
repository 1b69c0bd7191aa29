/// What a writer supplies for a new event; the store adds identity, clock, chain and hash.
public struct EventDraft: Sendable, Hashable {
    /// Payloads larger than this are refused at append (1 MiB): `EventLimits.maxPayloadBytes`.
    public static let maxPayloadBytes = EventLimits.maxPayloadBytes
    /// Actor names and causation/correlation ids longer than this are refused: `EventLimits.maxLabelBytes`.
    public static let maxLabelBytes = EventLimits.maxLabelBytes

    public var stream: StreamID
    public var type: EventType
    public var schemaVersion: UInt32
    /// The event's data, a JSON object, stored in canonical form.
    public var payload: String
    /// Who recorded it: a person or a system account.
    public var actor: String
    /// When it happened in the world (business time), milliseconds since the epoch.
    public var occurredAt: Int64
    public var causationID: String?
    public var correlationID: String?

    /// - Parameter data: a JSON object; it is stored in canonical form.
    public init(
        stream: StreamID,
        type: EventType,
        schemaVersion: UInt32 = 1,
        data: JSONValue,
        actor: String,
        occurredAt: Int64,
        causationID: String? = nil,
        correlationID: String? = nil
    ) throws {
        guard case .object = data else {
            throw ConcordError(.invalidJSON, "event data must be a JSON object, such as {\"title\":\"…\"}")
        }
        guard schemaVersion >= 1 else {
            throw ConcordError(.invalidArgument, "schema version must be 1 or more")
        }
        guard !data.isDeeper(than: EventLimits.maxPayloadDepth) else {
            throw ConcordError(.tooLarge, "event data is nested deeper than \(EventLimits.maxPayloadDepth) levels, the limit")
        }
        let payload = data.canonicalText
        guard payload.utf8.count <= Self.maxPayloadBytes else {
            throw ConcordError(.tooLarge, "event data is \(payload.utf8.count) bytes; the limit is \(Self.maxPayloadBytes)")
        }
        guard EventLimits.timeRange.contains(occurredAt) else {
            throw ConcordError(.invalidArgument, "the time it occurred must lie between 0001-01-01 and 9999-12-31 (UTC)")
        }
        try Label.validate(actor, what: "actor", required: true)
        try Label.validate(causationID, what: "causation id", required: false)
        try Label.validate(correlationID, what: "correlation id", required: false)
        self.stream = stream
        self.type = type
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.actor = actor
        self.occurredAt = occurredAt
        self.causationID = causationID
        self.correlationID = correlationID
    }
}

/// Actor names and causation and correlation ids: short UTF-8 text without control characters.
package enum Label {
    package static func validate(_ value: String?, what: String, required: Bool) throws {
        guard let value else { return }
        if required, value.isEmpty { throw ConcordError(.invalidArgument, "\(what) must not be empty") }
        guard value.utf8.count <= EventLimits.maxLabelBytes else {
            throw ConcordError(.invalidArgument, "\(what) is \(value.utf8.count) bytes; the limit is \(EventLimits.maxLabelBytes)")
        }
        guard !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw ConcordError(.invalidArgument, "\(what) contains a control character")
        }
    }
}
