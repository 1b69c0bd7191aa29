import ConcordCore

/// An action, who owns it, when it is due and how it ended, as its stream's events describe it.
public struct ActionRecord: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        case open
        case completed
        case cancelled
    }

    public struct Progress: Sendable, Hashable {
        public var note: String
        public var provenance: Provenance
    }

    public let id: String
    public internal(set) var fields = RecordFields()
    public internal(set) var raised: Provenance?
    public internal(set) var finished: Provenance?
    public internal(set) var progress: [Progress] = []
    public internal(set) var ignoredEvents = 0
    /// What an `action.raised` names the action for: a decision, a case, either or both.
    public struct Link: Sendable, Hashable, Comparable {
        public var decision: String?
        public var `case`: String?

        public static func < (lhs: Link, rhs: Link) -> Bool {
            // nil before any text, "" included.
            func key(_ link: Link) -> [String] { [link.decision.map { "+" + $0 } ?? "", link.case.map { "+" + $0 } ?? ""] }
            return key(lhs).lexicographicallyPrecedes(key(rhs))
        }
    }
    /// Every decision and case pair an `action.raised` of the stream named. A region or meeting
    /// sharing rule grants an action only while this is one pair: an action raised again by any
    /// origin naming another case or decision is withheld from both, never sent where a later
    /// writer chose (docs/privacy.md), as a case's `regionsNamed` is.
    public internal(set) var linksNamed: Set<Link> = []

    init(id: String) { self.id = id }

    static let winnerRules: [String: @Sendable ([String]) -> String] = [
        // Done work is a fact: a completion that raced with a cancellation stands.
        "status": { values in values.contains("completed") ? "completed" : values.contains("cancelled") ? "cancelled" : "open" },
        // The earlier due date keeps the action visible as overdue until someone settles it.
        "due": { values in ConflictRegister.smallest(values) },
    ]

    public var title: String? { fields.value("title") }
    public var owner: String? { fields.value("owner") }
    public var due: String? { fields.value("due", winner: Self.winnerRules["due"]!) }
    public var decisionID: String? { fields.value("decision") }
    public var caseID: String? { fields.value("case") }
    public var outcome: String? { fields.value("outcome") }
    public var status: Status? { fields.value("status", winner: Self.winnerRules["status"]!).flatMap(Status.init(rawValue:)) }
    public var conflicts: [FieldConflict] { fields.conflicts(rules: Self.winnerRules) }

    mutating func apply(_ domainEvent: DomainEvent, _ event: Event, history: CausalHistory) {
        let by = event.id
        switch domainEvent {
        case let .actionRaised(title, owner, due, decisionID, caseID):
            if raised == nil { raised = Provenance(event) }
            linksNamed.insert(Link(decision: decisionID, case: caseID))
            fields.write("title", title, by: by, history: history)
            fields.write("owner", owner, by: by, history: history)
            fields.write("due", due, by: by, history: history)
            fields.write("decision", decisionID, by: by, history: history)
            fields.write("case", caseID, by: by, history: history)
            fields.write("status", Status.open.rawValue, by: by, history: history)
        case let .actionReassigned(owner):
            fields.write("owner", owner, by: by, history: history)
        case let .actionDueChanged(due):
            fields.write("due", due, by: by, history: history)
        case let .actionProgressNoted(note):
            progress.append(Progress(note: note, provenance: Provenance(event)))
        case let .actionCompleted(outcome):
            finished = Provenance(event)
            fields.write("status", Status.completed.rawValue, by: by, history: history)
            fields.write("outcome", outcome, by: by, history: history)
        case let .actionCancelled(reason):
            finished = Provenance(event)
            fields.write("status", Status.cancelled.rawValue, by: by, history: history)
            fields.write("outcome", reason.map { "cancelled: \($0)" } ?? "cancelled", by: by, history: history)
        default:
            ignoredEvents += 1
        }
    }
}
