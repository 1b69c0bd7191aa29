import ConcordCore

/// Which events of one stream each event had seen when it was written, from the `prev` links.
///
/// Folding in `(hlc, origin, seq)` order meets every event after its ancestors (a writer's clock
/// is past every stamp it has seen), so each event's ancestry is complete when it is added,
/// except for ancestors this node does not hold yet: a parent not held counts by its id, and
/// with it every earlier event of its origin in the stream (which that parent had seen).
///
/// An event's ancestry is kept as a vector: per origin, the highest seq of this stream it had
/// seen. That is exact, because an event that has seen seq `s` of an origin has seen all of that
/// origin's earlier events in the stream (the origin held them when it wrote `s`, and they were
/// its heads or their ancestors). The cost is per origin, not per event: a fold stays linear in
/// the stream's length.
public struct CausalHistory: Sendable, Hashable {
    var seen: [EventID: [OriginID: UInt64]] = [:]

    public init() {}

    init(seen: [EventID: [OriginID: UInt64]]) { self.seen = seen }

    public mutating func add(_ event: Event) {
        var vector: [OriginID: UInt64] = [:]
        for parent in event.prev {
            if let inherited = seen[parent] {
                // Most events have one parent: take its vector whole rather than merging key by key.
                if vector.isEmpty { vector = inherited } else { vector.merge(inherited, uniquingKeysWith: max) }
            }
            vector[parent.origin] = max(vector[parent.origin] ?? 0, parent.seq)
        }
        seen[event.id] = vector
    }

    /// True when `earlier` is in the causal past of `later`. An origin's own earlier events always
    /// are: a node sees everything it wrote before.
    public func happenedBefore(_ earlier: EventID, _ later: EventID) -> Bool {
        if earlier.origin == later.origin { return earlier.seq < later.seq }
        guard let seq = seen[later]?[earlier.origin] else { return false }
        return earlier.seq <= seq
    }
}

/// A single-value field (a status, an owner, a due date) under concurrent edits.
///
/// Keeps the writes no later write has seen (the frontier). One value on the frontier: settled.
/// Several different values: a conflict, listed until a write that has seen them all settles it.
/// Meanwhile the field shows a deterministic winner chosen by the field's own rule, never by
/// whose clock ran later.
public struct ConflictRegister: Sendable, Hashable {
    public struct Write: Sendable, Hashable {
        public var event: EventID
        public var value: String
    }

    public private(set) var frontier: [Write] = []

    public init() {}

    init(frontier: [Write]) { self.frontier = frontier }

    public mutating func write(_ value: String, by event: EventID, history: CausalHistory) {
        frontier.removeAll { history.happenedBefore($0.event, event) }
        frontier.append(Write(event: event, value: value))
    }

    public var isSet: Bool { !frontier.isEmpty }

    /// Distinct values written concurrently, sorted; more than one means a conflict.
    public var candidates: [String] { Array(Set(frontier.map(\.value))).sorted() }

    public var isConflicted: Bool { candidates.count > 1 }

    /// The value shown: the only one, or the winner by `rule` among the candidates.
    public func value(winner rule: ([String]) -> String = ConflictRegister.smallest) -> String? {
        let values = candidates
        guard !values.isEmpty else { return nil }
        return values.count == 1 ? values[0] : rule(values)
    }

    /// The default rule: the value whose UTF-8 bytes sort first. Arbitrary but the same on every node.
    public static func smallest(_ values: [String]) -> String {
        values.min { $0.utf8.lexicographicallyPrecedes($1.utf8) }!
    }
}

/// A field whose concurrent writes disagree, as listed in the `conflicts` read model.
public struct FieldConflict: Sendable, Hashable {
    public var field: String
    /// The competing writes, ordered by event id.
    public var writes: [ConflictRegister.Write]
    public var chosen: String

    init?(field: String, register: ConflictRegister, chosen: String?) {
        guard register.isConflicted, let chosen else { return nil }
        self.field = field
        self.writes = register.frontier.sorted { $0.event < $1.event }
        self.chosen = chosen
    }
}
