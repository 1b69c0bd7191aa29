/// One recorded event: the unit the log stores, hashes, signs, syncs and verifies.
///
/// Everything here is covered by `hash`; nothing about an event can change without changing its
/// hash, and the next event of the same origin commits to that hash in its `prevHash`.
public struct Event: Sendable, Hashable {
    /// `(origin, seq)`: who wrote it and where in that origin's gap-free log.
    public var id: EventID
    public var stream: StreamID
    public var type: EventType
    public var schemaVersion: UInt32
    /// Orders events for projections: `(hlc, origin, seq)` is a total order on every node.
    public var hlc: HLCTimestamp
    /// When the origin recorded it (wall clock of the writing node), ms since the epoch.
    public var recordedAt: Int64
    /// When it happened in the world (business time), ms since the epoch.
    public var occurredAt: Int64
    public var actor: String
    public var causationID: String?
    public var correlationID: String?
    /// The stream's head events the writer had seen, sorted; empty for a stream's first event.
    public var prev: [EventID]
    /// Canonical JSON text of the event's data.
    public var payload: String
    /// The hash of the same origin's previous event, or `EventHash.genesis` for seq 1.
    public var prevHash: EventHash
    public var hash: EventHash

    public var origin: OriginID { id.origin }
    public var seq: UInt64 { id.seq }

    public init(
        id: EventID, stream: StreamID, type: EventType, schemaVersion: UInt32, hlc: HLCTimestamp,
        recordedAt: Int64, occurredAt: Int64, actor: String, causationID: String?, correlationID: String?,
        prev: [EventID], payload: String, prevHash: EventHash, hash: EventHash
    ) {
        self.id = id
        self.stream = stream
        self.type = type
        self.schemaVersion = schemaVersion
        self.hlc = hlc
        self.recordedAt = recordedAt
        self.occurredAt = occurredAt
        self.actor = actor
        self.causationID = causationID
        self.correlationID = correlationID
        self.prev = prev
        self.payload = payload
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The version tag that starts every canonical event encoding.
    public static let encodingTag = "concord.event.v1"

    /// The bytes the hash is taken over: every field but `hash`, in a fixed order (docs/storage-format.md).
    public var canonicalBytes: [UInt8] {
        var writer = CanonicalWriter(capacity: 160 + payload.utf8.count + prev.count * 44)
        writer.write(Self.encodingTag)
        writer.write(id.origin.hex)
        writer.write(id.seq)
        writer.write(stream.rawValue)
        writer.write(type.rawValue)
        writer.write(schemaVersion)
        writer.write(hlc.wallMillis)
        writer.write(hlc.counter)
        writer.write(recordedAt)
        writer.write(occurredAt)
        writer.write(actor)
        writer.write(causationID)
        writer.write(correlationID)
        writer.write(UInt32(prev.count))
        for head in prev {
            writer.write(head.origin.hex)
            writer.write(head.seq)
        }
        writer.write(payload)
        writer.write(bytes: prevHash.bytes)
        return writer.bytes
    }

    /// SHA-256 of `canonicalBytes`.
    public func computeHash() -> EventHash {
        EventHash.sha256(canonicalBytes)
    }
}

extension Event {
    /// The total order projections fold in: `(hlc, origin, seq)`. Identical on every node and
    /// consistent with causality.
    public static func projectionOrder(_ lhs: Event, _ rhs: Event) -> Bool {
        if lhs.hlc != rhs.hlc { return lhs.hlc < rhs.hlc }
        if lhs.origin != rhs.origin { return lhs.origin < rhs.origin }
        return lhs.seq < rhs.seq
    }
}
