import ConcordCore

/// What a sync leaves set aside for a peer (the origins whose events it refused, shown by
/// `status` and `verify` until they go in), decided once for every backend: each store reads the
/// peer's origins set aside now, asks this, and carries the answer out in one transaction.
public struct SetAsideChange: Sendable, Equatable {
    /// Forget every origin set aside for the peer first.
    public var forgetsAll: Bool
    /// Origins to forget: their events have since been stored.
    public var forgotten: [OriginID]
    /// Refusals to keep, each replacing the origin's earlier one.
    public var kept: [SyncWire.Refusal]

    public var isEmpty: Bool { !forgetsAll && forgotten.isEmpty && kept.isEmpty }

    /// The change a sync makes to the peer's origins set aside (`held`). A server, push by
    /// push, forgets the origins it has since `stored` events of; a client, at the end of a
    /// session (`replacing`), replaces what the last session set aside. At most `limit` origins
    /// are kept a peer: a refusal of an origin not set aside yet is kept only while there is
    /// room, so a hostile pusher cannot grow a store without end (the sync's own answer names
    /// every refusal).
    public static func of(
        held: Set<OriginID>, refused: [SyncWire.Refusal], stored: Set<OriginID>, replacing: Bool,
        limit: Int = SyncLimits.maxSetAsidePerPeer
    ) -> SetAsideChange {
        var remaining = replacing ? [] : held.subtracting(stored)
        var kept: [SyncWire.Refusal] = []
        for refusal in refused {
            guard remaining.contains(refusal.origin) || remaining.count < limit else { continue }
            remaining.insert(refusal.origin)
            kept.append(refusal)
        }
        return SetAsideChange(forgetsAll: replacing, forgotten: replacing ? [] : held.intersection(stored).sorted(), kept: kept)
    }
}
