/// Proof that an origin's key signed two different histories: a different event than the one
/// held at `(origin, seq)`, shown by a run of the origin's events that its own seal covers.
///
/// The held side needs no copy: it is in the holder's log, covered by the origin's seals there.
/// The offered side is `events`: either starting at `seq` itself (its first event is the other
/// event at `seq`), or at `seq + 1` (its first event's `prevHash` names the other event at `seq`),
/// each event hashing to its hash and linking to the one before, up to the event `seal` signs.
/// Anyone holding the origin's key can check it; a node keeps fork evidence only in this form.
public struct ForkProof: Sendable, Hashable {
    public var origin: OriginID
    /// The seq at which two different events were signed.
    public var seq: UInt64
    /// The hash of the event held at `seq`.
    public var heldHash: EventHash
    /// The hash the offered history has at `seq`.
    public var offeredHash: EventHash
    public var events: [Event]
    public var seal: Seal

    public init(origin: OriginID, seq: UInt64, heldHash: EventHash, events: [Event], seal: Seal) {
        self.origin = origin
        self.seq = seq
        self.heldHash = heldHash
        self.offeredHash = events.first.map { $0.seq == seq ? $0.hash : $0.prevHash } ?? .genesis
        self.events = events
        self.seal = seal
    }

    /// Whether the offered side is signed by the origin's key and differs from `heldHash`.
    public func verifies(with key: OriginKey) -> Bool {
        guard EventLimits.seqRange.contains(seq), key.origin == origin, key.keyMatchesOrigin, let first = events.first, let last = events.last,
              first.seq == seq || first.seq == seq &+ 1, offeredHash != heldHash,
              seal.origin == origin, seal.seq == last.seq, seal.hash == last.hash, key.verify(seal)
        else { return false }
        var previous: Event?
        for event in events {
            guard event.origin == origin, event.computeHash() == event.hash, event.openingMatchesCommitment else { return false }
            if let previous, event.seq != previous.seq &+ 1 || event.prevHash != previous.hash { return false }
            previous = event
        }
        return true
    }

    /// The offered side as exchange NDJSON: the key, the events, the seal (docs/file-formats.md).
    public func exchangeLines(key: OriginKey) -> String {
        var text = key.exchangeJSON + "\n"
        // Stubs: the hashes prove the fork, and evidence must not keep openings an erasure may destroy.
        for event in events { text += event.exchangeJSON(withOpening: false) + "\n" }
        return text + seal.exchangeJSON + "\n"
    }
}
