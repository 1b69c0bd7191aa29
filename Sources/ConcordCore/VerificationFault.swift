/// One thing wrong with a stored log, found by `LogVerifier`.
public struct VerificationFault: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The event's bytes no longer hash to its stored hash: something in it was changed.
        case hashMismatch = "hash-mismatch"
        /// The event's `prevHash` is not the hash of the origin's previous event.
        case chainBroken = "chain-broken"
        /// A seq is missing from the origin's run: an event was deleted.
        case missingEvent = "missing-event"
        /// Events of one origin are stored out of seq order: events were swapped or moved.
        case outOfOrder = "out-of-order"
        /// A seal's signature does not verify with the origin's key.
        case badSignature = "bad-signature"
        /// A seal signs a hash that is not the stored event's hash.
        case sealMismatch = "seal-mismatch"
        /// A seal covers a seq beyond the last stored event: the tail was cut off.
        case truncated = "truncated"
        /// Events after the last seal: nothing signs them.
        case unsealed = "unsealed"
        /// No public key is recorded for the origin.
        case unknownOrigin = "unknown-origin"
        /// The recorded public key does not hash to the origin id.
        case keyMismatch = "key-mismatch"
        /// A signed checkpoint (`Checkpoint`) names more of the origin than this copy holds: its
        /// tail was cut, seals and all. Only a checkpoint can show this.
        case tailCut = "tail-cut"
        /// A signed checkpoint, or the other copy of `verify --against`, holds another event at a
        /// seq this copy holds: the origin's history forked, or one copy was rewritten.
        case otherHistory = "other-history"
        /// A checkpoint whose signature does not verify with its signer's key, or whose signer's
        /// key is not held.
        case badCheckpoint = "bad-checkpoint"
        /// An erasure of the origin held here names the event, but the event's opening is still
        /// held: the erasure was not applied (or the opening was put back).
        case erasureNotApplied = "erasure-not-applied"
        /// The event's opening was destroyed, but no erasure of its origin held here names it:
        /// someone blanked it behind the log's back (only the recording origin, by a signed
        /// erasure, may destroy an opening).
        case erasedWithoutErasure = "erased-without-erasure"
        /// A field outside its range (`EventLimits`): stored by a release before the ranges were
        /// checked. It verifies, but no peer would take it (a notice, not a fault).
        case outOfRange = "out-of-range"

        /// At one seq, the fault that explains the others comes first (a changed event before the
        /// broken link that follows from it).
        var rank: Int { Kind.allCases.firstIndex(of: self)! }
    }

    public var origin: OriginID
    /// The seq the fault is at (0 when it concerns the origin as a whole).
    public var seq: UInt64
    public var kind: Kind
    public var detail: String

    public init(origin: OriginID, seq: UInt64, kind: Kind, detail: String) {
        self.origin = origin
        self.seq = seq
        self.kind = kind
        self.detail = detail
    }

    /// `origin 1f2e… seq 42: hash-mismatch (…)`
    public var description: String { "origin \(origin) seq \(seq): \(kind.rawValue) (\(detail))" }
}

/// The outcome of verifying a whole log.
public struct VerificationReport: Sendable {
    /// Faults ordered by origin, then seq.
    public var faults: [VerificationFault]
    /// Sound, but for an operator to know (`out-of-range` events), ordered likewise.
    public var notices: [VerificationFault] = []
    public var eventsChecked: UInt64
    public var sealsChecked: UInt64
    public var origins: Int

    public var isValid: Bool { faults.isEmpty }
    public var firstFault: VerificationFault? { faults.first }
}
