import Crypto

/// Extends one origin's hash chain with new events and seals its head.
///
/// The store keeps the chain's state; this type holds the rules, so every store (SQLite now,
/// PostgreSQL later) chains and seals in exactly the same way.
public struct OriginChain: Sendable {
    public let key: NodeKey
    public let origin: OriginID
    public private(set) var lastSeq: UInt64
    public private(set) var lastHash: EventHash

    /// - Parameters:
    ///   - lastSeq: the origin's highest stored seq, 0 when it has none.
    ///   - lastHash: that event's hash, `EventHash.genesis` when it has none.
    public init(key: NodeKey, lastSeq: UInt64, lastHash: EventHash) {
        self.key = key
        self.origin = key.origin
        self.lastSeq = lastSeq
        self.lastHash = lastHash
    }

    /// The next event of this origin, in format 2: its opening salted with `salt` (fresh random
    /// bytes when not given), committed to, hashed and linked to the previous event. With
    /// `format: 1`, as releases before need-to-know wrote (for benchmarks comparing the two).
    public mutating func append(
        _ draft: EventDraft, hlc: HLCTimestamp, recordedAt: Int64, prev: [EventID], salt: [UInt8]? = nil, format: Int = 2
    ) -> Event {
        var event = Event(
            id: EventID(origin: origin, seq: lastSeq + 1),
            stream: draft.stream,
            type: draft.type,
            schemaVersion: draft.schemaVersion,
            hlc: hlc,
            recordedAt: recordedAt,
            occurredAt: draft.occurredAt,
            actor: draft.actor,
            causationID: draft.causationID,
            correlationID: draft.correlationID,
            prev: prev.sorted(),
            payload: draft.payload,
            prevHash: lastHash,
            hash: EventHash.genesis,
            commitment: EventHash.genesis,
            salt: format == 1 ? [] : salt ?? Self.randomSalt()
        )
        if format == 1 {
            event.commitment = nil
            event.salt = []
        } else {
            event.commitment = event.computeCommitment()
        }
        event.hash = event.computeHash()
        lastSeq = event.seq
        lastHash = event.hash
        return event
    }

    /// `EventLimits.saltBytes` bytes from BoringSSL's generator (seeded by the kernel). Not a
    /// `getrandom` call per byte through `SystemRandomNumberGenerator`: that cost more than a
    /// third of an import (docs/performance.md).
    public static func randomSalt() -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: EventLimits.saltBytes * 8)).withUnsafeBytes { Array($0) }
    }

    /// A signature over the current head, covering every event of the origin so far.
    public func sealHead() -> Seal {
        key.seal(seq: lastSeq, hash: lastHash)
    }
}
