/// One recorded event: the unit the log stores, hashes, signs, syncs and verifies.
///
/// Everything here is covered by `hash`; nothing about an event can change without changing its
/// hash, and the next event of the same origin commits to that hash in its `prevHash`.
///
/// Two formats (docs/storage-format.md). Format 1 hashes every field, payload included. Format 2
/// (every event written since need-to-know) hashes a *header* and a `commitment` to the event's
/// *opening*: its salt, actor, causation and correlation ids and payload. A node may hold a
/// format-2 event without its opening (a *stub*: `disclosure` is `.withheld`, or `.erased` once an
/// erasure destroyed it) and still verify every hash link, gap and seal.
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
    /// Format 2: SHA-256 of the opening (`openingBytes`); nil for a format-1 event.
    public var commitment: EventHash?
    /// Format 2: the opening's random salt (`EventLimits.saltBytes`); empty for format 1 and for stubs.
    public var salt: [UInt8]
    /// Whether this node holds the opening. A stub's actor, ids and payload are empty placeholders
    /// (`""`, nil, `{}`) that nothing may read as data.
    public var disclosure: Disclosure

    public var origin: OriginID { id.origin }
    public var seq: UInt64 { id.seq }

    public init(
        id: EventID, stream: StreamID, type: EventType, schemaVersion: UInt32, hlc: HLCTimestamp,
        recordedAt: Int64, occurredAt: Int64, actor: String, causationID: String?, correlationID: String?,
        prev: [EventID], payload: String, prevHash: EventHash, hash: EventHash,
        commitment: EventHash? = nil, salt: [UInt8] = [], disclosure: Disclosure = .full
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
        self.commitment = commitment
        self.salt = salt
        self.disclosure = disclosure
    }

    /// The version tag that starts every canonical format-1 event encoding.
    public static let encodingTag = "concord.event.v1"
    /// The version tag of format 2's header encoding.
    public static let encodingTagV2 = "concord.event.v2"
    /// The version tag of format 2's opening encoding.
    public static let openingTag = "concord.opening.v2"

    /// 1 or 2.
    public var format: Int { commitment == nil ? 1 : 2 }
    /// True when this node holds the event's data (always, for format 1).
    public var hasOpening: Bool { disclosure == .full }

    /// The bytes the hash is taken over (docs/storage-format.md). Format 1: every field but `hash`,
    /// in a fixed order. Format 2: the header fields and the commitment; no opening field.
    public var canonicalBytes: [UInt8] {
        if let commitment { return headerBytes(commitment: commitment) }
        var writer = CanonicalWriter(capacity: 160 + payload.utf8.count + prev.count * 44)
        writer.write(Self.encodingTag)
        writeIdentityAndTimes(&writer)
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

    /// Fields 2 to 10 of both formats: origin, seq, stream, type, schema version, HLC, times.
    private func writeIdentityAndTimes(_ writer: inout CanonicalWriter) {
        writer.write(id.origin.hex)
        writer.write(id.seq)
        writer.write(stream.rawValue)
        writer.write(type.rawValue)
        writer.write(schemaVersion)
        writer.write(hlc.wallMillis)
        writer.write(hlc.counter)
        writer.write(recordedAt)
        writer.write(occurredAt)
    }

    private func headerBytes(commitment: EventHash) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 200 + prev.count * 44)
        writer.write(Self.encodingTagV2)
        writeIdentityAndTimes(&writer)
        writer.write(UInt32(prev.count))
        for head in prev {
            writer.write(head.origin.hex)
            writer.write(head.seq)
        }
        writer.write(bytes: commitment.bytes)
        writer.write(bytes: prevHash.bytes)
        return writer.bytes
    }

    /// The bytes a format-2 commitment is taken over: the salt first, so that a short payload
    /// cannot be found by hashing guesses.
    public var openingBytes: [UInt8] {
        var writer = CanonicalWriter(capacity: 120 + payload.utf8.count)
        writer.write(Self.openingTag)
        writer.write(bytes: salt)
        writer.write(actor)
        writer.write(causationID)
        writer.write(correlationID)
        writer.write(payload)
        return writer.bytes
    }

    /// SHA-256 of `openingBytes`.
    public func computeCommitment() -> EventHash {
        EventHash.sha256(openingBytes)
    }

    /// True unless this is a format-2 event whose opening is held and does not match its commitment.
    public var openingMatchesCommitment: Bool {
        guard let commitment, disclosure == .full else { return true }
        return salt.count == EventLimits.saltBytes && computeCommitment() == commitment
    }

    /// SHA-256 of `canonicalBytes`.
    public func computeHash() -> EventHash {
        EventHash.sha256(canonicalBytes)
    }

    /// The same event without its opening: what a peer without the right receives. Nil for a
    /// format-1 event, whose hash covers its payload.
    public var stub: Event? {
        guard commitment != nil else { return nil }
        var stub = self
        stub.withholdOpening(as: disclosure == .erased ? .erased : .withheld)
        return stub
    }

    /// Drops the opening, leaving the placeholders a stub holds.
    public mutating func withholdOpening(as state: Disclosure) {
        precondition(commitment != nil && state != .full, "only a format-2 event can be held without its opening")
        actor = ""
        causationID = nil
        correlationID = nil
        payload = "{}"
        salt = []
        disclosure = state
    }
}

/// Whether a node holds an event's opening.
public enum Disclosure: Int, Sendable, Hashable {
    /// The opening is held (always, for a format-1 event).
    case full = 0
    /// Only the header is held: a peer's sharing rules withheld the opening.
    case withheld = 1
    /// The opening was destroyed by an erasure event of the event's origin.
    case erased = 2
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
