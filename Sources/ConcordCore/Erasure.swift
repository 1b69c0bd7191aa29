/// An erasure: a signed event of one origin naming earlier events of the same origin whose
/// openings every node destroys when it stores the erasure (docs/privacy.md).
///
/// Whether an erasure is allowed is decided from the erasure event alone, so every node decides
/// alike and convergence holds: it must carry its opening, name at least one and at most
/// `maxTargets` events, each once and in ascending order, each either of its own origin and
/// earlier than itself, or of an earlier incarnation of its node that the handovers it carries
/// link to its origin, at or below the last seq handed over (`Handover`: each signed by the
/// earlier key, at most `maxHandovers`, every one on a chain to its origin), and give a reason. Among the named events, format-1 events (whose hash covers their payload) and
/// erasure events (which every node needs in full) keep their openings: the same rule
/// everywhere, applied when the erasure is stored.
public struct Erasure: Sendable, Hashable {
    /// The event type of an erasure.
    public static let eventType = "concord.erasure"
    /// The stream category erasures are recorded on: `erasure:ORIGIN`.
    public static let streamCategory = "erasure"
    /// The most events one erasure names.
    public static let maxTargets = 10_000
    /// The longest reason, in UTF-8 bytes.
    public static let maxReasonBytes = 2_000

    /// The most handovers one erasure carries (each costs a signature check wherever it is read).
    public static let maxHandovers = 16

    public var targets: [EventID]
    public var reason: String
    /// What links each other origin named to the erasure's own (empty when it names only its own).
    public var handovers: [Handover]

    public init(targets: [EventID], reason: String, handovers: [Handover] = []) {
        self.targets = targets
        self.reason = reason
        self.handovers = handovers
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
        guard handovers.count <= Self.maxHandovers else {
            throw ConcordError(.invalidArgument, "an erasure carries at most \(Self.maxHandovers) handovers; this one needs \(handovers.count)")
        }
        var fields: [String: JSONValue] = [
            "events": .array(targets.sorted().map { .string($0.description) }),
            "reason": .string(reason),
        ]
        // Only when other origins are named: an erasure of its own origin's events is unchanged.
        if !handovers.isEmpty { fields["handovers"] = .array(handovers.map(\.json)) }
        let data = JSONValue.object(fields)
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
        guard event.stream == stream(of: event.origin), event.schemaVersion == 1 else {
            throw refuse("an erasure is recorded on its origin's stream \(stream(of: event.origin)), with schema version 1")
        }
        guard event.disclosure == .full else { throw refuse("it arrived without its opening, and every node needs an erasure in full to apply it") }
        guard let data = try? JSONValue(parsing: event.payload), case .object(let fields) = data,
              case .array(let items)? = fields["events"], case .string(let reason)? = fields["reason"],
              Set(fields.keys).isSubset(of: ["events", "reason", "handovers"]) else {
            throw refuse("its data must be {\"events\": [\"ORIGIN:SEQ\", …], \"reason\": \"…\"}, with \"handovers\": […] when it names an earlier incarnation's events")
        }
        do { try checkReason(reason) } catch let error as ConcordError { throw refuse(error.message) }
        guard !items.isEmpty, items.count <= maxTargets else { throw refuse("it must name from 1 to \(maxTargets) events") }
        var handovers: [Handover] = []
        if let carried = fields["handovers"] {
            guard case .array(let list) = carried, !list.isEmpty, list.count <= maxHandovers else {
                throw refuse("\"handovers\" must list from 1 to \(maxHandovers) handovers")
            }
            for item in list {
                guard let handover = Handover(json: item) else { throw refuse("a handover must be {\"from\", \"key\", \"signature\", \"to\"} in lowercase hex") }
                guard handover.isValid else {
                    throw refuse("the handover from \(handover.from.origin) to \(handover.to) does not verify with the key it carries")
                }
                handovers.append(handover)
            }
        }
        // Each origin the handovers link to this one, with the last of its seqs handed over.
        let linked = Handover.linked(to: event.origin, byValid: handovers)
        var targets: [EventID] = []
        targets.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item, let id = try? EventID(parsing: text) else { throw refuse("\"events\" must list event ids ORIGIN:SEQ") }
            if id.origin == event.origin {
                guard id.seq < event.seq else { throw refuse("it names \(id), which is not an earlier event of its origin") }
            } else if let through = linked[id.origin] {
                guard id.seq <= through else {
                    throw refuse("it names \(id), past seq \(through), the last its handover from \(id.origin) covers: the earlier incarnation's later events are not its to erase")
                }
            } else {
                throw refuse("it names \(id), recorded by another origin that no handover it carries links to its own; an origin may erase only the events it, or an earlier incarnation of its node, recorded")
            }
            if let last = targets.last, !(last < id) { throw refuse("\"events\" must list ids in ascending order, each once") }
            targets.append(id)
        }
        // Every handover must be on a chain to this origin: none is carried for nothing.
        guard handovers.allSatisfy({ linked[$0.from.origin] != nil && ($0.to == event.origin || linked[$0.to] != nil) }) else {
            throw refuse("it carries a handover that does not lead to its origin")
        }
        return Erasure(targets: targets, reason: reason, handovers: handovers)
    }
}
