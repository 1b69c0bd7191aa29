import ConcordCore

/// A meeting, its attendees, agenda and decisions, as its stream's events describe it.
public struct MeetingRecord: Sendable, Hashable {
    public struct Attendee: Sendable, Hashable {
        public var name: String
        public var role: String?
        public var organisation: String?
    }

    public struct AgendaItem: Sendable, Hashable {
        public var title: String
        public var provenance: Provenance
    }

    public struct Decision: Sendable, Hashable {
        public var id: String
        public var proposedBy: String?
        /// The first recording, in projection order: who recorded it, when, on which origin.
        public var provenance: Provenance
    }

    public let id: String
    public internal(set) var fields = RecordFields()
    public internal(set) var scheduled: Provenance?
    public internal(set) var attendees: [String: Attendee] = [:]
    public internal(set) var agenda: [AgendaItem] = []
    public internal(set) var decisions: [String: Decision] = [:]
    public internal(set) var ignoredEvents = 0

    init(id: String) { self.id = id }

    static let winnerRules: [String: @Sendable ([String]) -> String] = [
        // A cancellation that raced with anything else stands until someone reschedules.
        "status": { values in values.contains("cancelled") ? "cancelled" : ConflictRegister.smallest(values) },
    ]

    public var title: String? { fields.value("title") }
    public var at: String? { fields.value("at") }
    public var location: String? { fields.value("location") }
    public var host: String? { fields.value("host") }
    public var minutes: String? { fields.value("minutes") }
    public var cancelReason: String? { fields.value("cancel-reason") }
    public var status: String? { fields.value("status", winner: Self.winnerRules["status"]!) }
    public var isCancelled: Bool { status == "cancelled" }
    public var conflicts: [FieldConflict] { fields.conflicts(rules: Self.winnerRules) }

    /// A decision's text (a register: two nodes may record one decision id with different words).
    public func decisionText(_ id: String) -> String? { fields.value("decision \(id) text") }

    mutating func apply(_ domainEvent: DomainEvent, _ event: Event, history: CausalHistory) {
        let by = event.id
        switch domainEvent {
        case let .meetingScheduled(title, at, location, host):
            if scheduled == nil { scheduled = Provenance(event) }
            fields.write("title", title, by: by, history: history)
            fields.write("at", Timestamp.iso8601(millis: at), by: by, history: history)
            fields.write("location", location, by: by, history: history)
            fields.write("host", host, by: by, history: history)
            fields.write("status", "scheduled", by: by, history: history)
        case let .meetingAttendeeRecorded(name, role, organisation):
            attendees[name] = Attendee(name: name, role: role, organisation: organisation)
        case let .meetingAgendaItemAdded(title):
            agenda.append(AgendaItem(title: title, provenance: Provenance(event)))
        case let .meetingDecisionRecorded(decisionID, text, proposedBy):
            if decisions[decisionID] == nil {
                decisions[decisionID] = Decision(id: decisionID, proposedBy: proposedBy, provenance: Provenance(event))
            }
            fields.write("decision \(decisionID) text", text, by: by, history: history)
        case let .meetingMinutesPublished(summary):
            fields.write("minutes", summary, by: by, history: history)
        case let .meetingCancelled(reason):
            fields.write("status", "cancelled", by: by, history: history)
            fields.write("cancel-reason", reason, by: by, history: history)
        default:
            ignoredEvents += 1
        }
    }
}
