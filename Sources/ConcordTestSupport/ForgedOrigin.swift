import ConcordCore
import ConcordSyncProtocol

/// An origin as a hostile peer makes one: a fresh key, and events with any field values at all,
/// correctly hashed, chained and sealed. What tests use to show that a valid signature does not
/// make input safe.
public struct ForgedOrigin: Sendable {
    public let key: NodeKey
    public private(set) var events: [Event] = []
    public private(set) var seals: [Seal] = []

    public init(key: NodeKey = NodeKey()) {
        self.key = key
    }

    /// An origin's history as some node holds it (for a thief of its key to go on from).
    public init(key: NodeKey, events: [Event], seals: [Seal]) {
        self.key = key
        self.events = events
        self.seals = seals
    }

    public var origin: OriginID { key.origin }
    public var originKey: OriginKey { key.originKey }
    public var lastSeq: UInt64 { events.last?.seq ?? 0 }

    /// What a forged format-2 event carries of its opening.
    public enum Opening: Sendable {
        /// Format 1: no commitment, the hash covers the data.
        case formatOne
        /// Format 2 with its opening, salted with these bytes (any length: that is the point).
        case whole(salt: [UInt8])
        /// Format 2, as a stub.
        case stub(salt: [UInt8])
        /// Format 2 whose opening was changed after the commitment was taken.
        case mismatched(salt: [UInt8])
    }

    /// Appends an event with the given fields (defaults are ordinary), hashed and linked to the
    /// last one. Nothing is checked: that is the point.
    @discardableResult
    public mutating func append(
        seq: UInt64? = nil, stream: String = "notes:forged", type: String = "note.added", schemaVersion: UInt32 = 1,
        hlc: HLCTimestamp? = nil, recordedAt: Int64? = nil, occurredAt: Int64 = 1_457_519_400_000, actor: String = "forger",
        prev: [EventID] = [], payload: String = #"{"n":1}"#, opening: Opening = .formatOne
    ) -> Event {
        let now = Timestamp.nowMillis()
        var event = Event(
            id: EventID(origin: origin, seq: seq ?? lastSeq &+ 1), stream: StreamID(unchecked: stream), type: EventType(unchecked: type),
            schemaVersion: schemaVersion, hlc: hlc ?? HLCTimestamp(wallMillis: now, counter: UInt16(events.count % 60_000)),
            recordedAt: recordedAt ?? now, occurredAt: occurredAt, actor: actor, causationID: nil, correlationID: nil,
            prev: prev, payload: payload, prevHash: events.last?.hash ?? .genesis, hash: .genesis
        )
        switch opening {
        case .formatOne:
            break
        case .whole(let salt), .stub(let salt), .mismatched(let salt):
            event.salt = salt
            event.commitment = event.computeCommitment()
        }
        event.hash = event.computeHash()
        switch opening {
        case .stub: event.withholdOpening(as: .withheld)
        case .mismatched: event.payload = #"{"changed":"after the commitment"}"#
        default: break
        }
        events.append(event)
        return event
    }

    /// Seals the last event (or the event at `seq`).
    public mutating func seal(at seq: UInt64? = nil) {
        guard let event = seq.map({ seq in events.first { $0.seq == seq }! }) ?? events.last else { return }
        seals.append(key.seal(seq: event.seq, hash: event.hash))
    }

    /// A second history of the same key, sharing the first `keeping` events.
    public func branch(keeping: Int) -> ForgedOrigin {
        var copy = ForgedOrigin(key: key)
        copy.events = Array(events.prefix(keeping))
        copy.seals = seals.filter { $0.seq <= UInt64(keeping) }
        return copy
    }

    /// The batch of events after `afterSeq` with their seals, and the key.
    public func batch(after afterSeq: UInt64 = 0) -> IngestBatch {
        IngestBatch(keys: [originKey], events: events.filter { $0.seq > afterSeq }, seals: seals.filter { $0.seq > afterSeq })
    }

    /// The same as exchange NDJSON (a push body or an import file).
    public func lines(after afterSeq: UInt64 = 0) -> String {
        BatchWriter.lines(batch(after: afterSeq))
    }
}
