/// What a node holds, summarised: for each origin, the highest seq stored (origins are gap-free,
/// so that one number says which events are present).
///
/// Always derived from the stored events, never kept beside them.
public struct VersionVector: Hashable, Sendable {
    public private(set) var entries: [OriginID: UInt64]

    public init(_ entries: [OriginID: UInt64] = [:]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    public subscript(origin: OriginID) -> UInt64 {
        get { entries[origin] ?? 0 }
        set { entries[origin] = newValue > 0 ? newValue : nil }
    }

    /// The number of events the vector covers (saturating: a peer's vector may name huge seqs).
    public var eventCount: UInt64 {
        entries.values.reduce(0) { total, seq in
            let (sum, overflow) = total.addingReportingOverflow(seq)
            return overflow ? .max : sum
        }
    }

    /// How many events this vector holds that `other` lacks (saturating).
    public func lacking(in other: VersionVector) -> UInt64 {
        entries.reduce(0) { total, entry in
            let missing = entry.value > other[entry.key] ? entry.value - other[entry.key] : 0
            let (sum, overflow) = total.addingReportingOverflow(missing)
            return overflow ? .max : sum
        }
    }

    /// Origins in a stable order, for output.
    public var sorted: [(origin: OriginID, seq: UInt64)] {
        entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// True when this vector holds every event `other` holds.
    public func includes(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    /// The vector once `events` are stored too: each origin at the highest seq either holds.
    /// (Stored events continue their origin's run, so the highest seq says it all.)
    public func adding(_ events: [Event]) -> VersionVector {
        var result = self
        for event in events where event.seq > result[event.origin] { result[event.origin] = event.seq }
        return result
    }
}
