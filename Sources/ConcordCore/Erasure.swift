/// An erasure: a signed event of one origin naming earlier events of the same origin whose
/// openings every node destroys when it stores the erasure (docs/privacy.md).
///
/// Whether an erasure is allowed is decided from the erasure event alone, so every node decides
/// alike and convergence holds: it must carry its opening, name at least one and at most
/// `maxTargets` events, each once and in ascending order, each of its own origin and earlier than
/// itself, and give a reason. Among the named events, format-1 events (whose hash covers their
/// payload) and erasure events (which every node needs in full) keep their openings: the same
/// rule everywhere, applied when the erasure is stored.
public struct Erasure: Sendable, Hashable {
    /// The event type of an erasure.
    public static let eventType = "concord.erasure"
    /// The stream category erasures are recorded on: `erasure:ORIGIN`.
    public static let streamCategory = "erasure"
    /// The most events one erasure names.
    public static let maxTargets = 10_000
    /// The longest reason, in UTF-8 bytes.
    public static let maxReasonBytes = 2_000

    public var targets: [EventID]
    public var reason: String

    public init(targets: [EventID], reason: String) {
        self.targets = targets
        self.reason = reason
    }

    /// The stream an origin's erasures are recorded on.
    public static func stream(of origin: OriginID) -> StreamID {
        StreamID(unchecked: "\(streamCategory):\(origin.hex)")
    }

    /// The draft recording this erasure.
    public func draft(actor: String, occurredAt: Int64, origin: OriginID) throws -> EventDraft {
        try Self.checkReason(reason)
        guard !targets.isEmpty, targets.count <= Self.maxTargets else {
            throw ConcordError(.invalidArgument, "an erasure names from 1 to \(Self.maxTargets) events; this one names \(targets.count)")
        }
        let data = JSONValue.object([
            "events": .array(targets.sorted().map { .string($0.description) }),
            "reason": .string(reason),
        ])
        return try EventDraft(stream: Self.stream(of: origin), type: EventType(Self.eventType), data: data, actor: actor, occurredAt: occurredAt)
    }

    private static func checkReason(_ reason: String) throws {
        guard !reason.trimmingSpaces.isEmpty else {
            throw ConcordError(.invalidArgument, "an erasure must give its reason (who asked, under which rule); it is kept in the audited history")
        }
        guard reason.utf8.count <= maxReasonBytes else {
            throw ConcordError(.invalidArgument, "an erasure's reason is \(reason.utf8.count) bytes; the limit is \(maxReasonBytes)")
        }
    }

    /// The erasure an event records; nil when the event is not an erasure. Throws `invalid-event`
    /// when it is one that no node may apply (the message says why).
    public static func recorded(by event: Event) throws -> Erasure? {
        guard event.type.rawValue == eventType else { return nil }
        func refuse(_ why: String) -> ConcordError {
            ConcordError(.invalidEvent, "erasure \(event.id) is refused: \(why)")
        }
        guard event.commitment != nil else { throw refuse("an erasure must be a format-2 event") }
        guard event.disclosure == .full else { throw refuse("it arrived without its opening, and every node needs an erasure in full to apply it") }
        guard let data = try? JSONValue(parsing: event.payload), case .array(let items)? = data["events"], case .string(let reason)? = data["reason"] else {
            throw refuse("its data must be {\"events\": [\"ORIGIN:SEQ\", …], \"reason\": \"…\"}")
        }
        do { try checkReason(reason) } catch let error as ConcordError { throw refuse(error.message) }
        guard !items.isEmpty, items.count <= maxTargets else { throw refuse("it must name from 1 to \(maxTargets) events") }
        var targets: [EventID] = []
        targets.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item, let id = try? EventID(parsing: text) else { throw refuse("\"events\" must list event ids ORIGIN:SEQ") }
            guard id.origin == event.origin else {
                throw refuse("it names \(id), recorded by another origin; an origin may erase only the events it recorded itself")
            }
            guard id.seq < event.seq else { throw refuse("it names \(id), which is not an earlier event of its origin") }
            if let last = targets.last, !(last < id) { throw refuse("\"events\" must list ids in ascending order, each once") }
            targets.append(id)
        }
        return Erasure(targets: targets, reason: reason)
    }
}
