import ConcordCore

/// Every event type the domain knows, with its data, in its current schema version.
///
/// Events of other types (or on streams outside the `case`, `meeting` and `action` categories)
/// are valid log entries that projections ignore.
public enum DomainEvent: Sendable, Hashable {
    case caseOpened(reference: String, title: String, region: String, category: String?)
    case caseStatusChanged(status: CaseStatus)
    case caseOwnerAssigned(owner: String)
    case caseNoteAdded(note: String)
    case caseLinked(otherCase: String, relation: String?)
    case caseClosed(outcome: String)

    case meetingScheduled(title: String, at: Int64, location: String, host: String?)
    case meetingAttendeeRecorded(name: String, role: String?, organisation: String?)
    case meetingAgendaItemAdded(title: String)
    case meetingDecisionRecorded(decisionID: String, text: String, proposedBy: String?)
    case meetingMinutesPublished(summary: String)
    case meetingCancelled(reason: String?)

    case actionRaised(title: String, owner: String, due: String?, decisionID: String?, caseID: String?)
    case actionReassigned(owner: String)
    case actionDueChanged(due: String)
    case actionProgressNoted(note: String)
    case actionCompleted(outcome: String?)
    case actionCancelled(reason: String?)

    /// The type name stored in the log.
    public var typeName: String {
        switch self {
        case .caseOpened: "case.opened"
        case .caseStatusChanged: "case.status-changed"
        case .caseOwnerAssigned: "case.owner-assigned"
        case .caseNoteAdded: "case.note-added"
        case .caseLinked: "case.linked"
        case .caseClosed: "case.closed"
        case .meetingScheduled: "meeting.scheduled"
        case .meetingAttendeeRecorded: "meeting.attendee-recorded"
        case .meetingAgendaItemAdded: "meeting.agenda-item-added"
        case .meetingDecisionRecorded: "meeting.decision-recorded"
        case .meetingMinutesPublished: "meeting.minutes-published"
        case .meetingCancelled: "meeting.cancelled"
        case .actionRaised: "action.raised"
        case .actionReassigned: "action.reassigned"
        case .actionDueChanged: "action.due-changed"
        case .actionProgressNoted: "action.progress-noted"
        case .actionCompleted: "action.completed"
        case .actionCancelled: "action.cancelled"
        }
    }

    /// The schema version new events of this type are written with.
    public var schemaVersion: UInt32 { Upcasters.currentVersion(of: typeName) }

    /// The stream category each type belongs on.
    public var category: StreamKind {
        switch self {
        case .caseOpened, .caseStatusChanged, .caseOwnerAssigned, .caseNoteAdded, .caseLinked, .caseClosed: .case
        case .meetingScheduled, .meetingAttendeeRecorded, .meetingAgendaItemAdded, .meetingDecisionRecorded,
             .meetingMinutesPublished, .meetingCancelled: .meeting
        case .actionRaised, .actionReassigned, .actionDueChanged, .actionProgressNoted, .actionCompleted, .actionCancelled: .action
        }
    }

    /// Every type name the domain knows.
    public static let knownTypes: Set<String> = [
        "case.opened", "case.status-changed", "case.owner-assigned", "case.note-added", "case.linked", "case.closed",
        "meeting.scheduled", "meeting.attendee-recorded", "meeting.agenda-item-added", "meeting.decision-recorded",
        "meeting.minutes-published", "meeting.cancelled",
        "action.raised", "action.reassigned", "action.due-changed", "action.progress-noted", "action.completed", "action.cancelled",
    ]
}

extension DomainEvent {
    /// What read models show for a text an erasure destroyed.
    public static let erasedText = "[erased]"

    /// What an erased event still says: its type alone (a case was closed, a note was added), every
    /// text marked `erasedText`. Nil where the type carries nothing but its destroyed data (a
    /// status change, a new due date): such an event changes no field. Ids an erased event gave
    /// (a decision's, an attendee's name) become `erased:ORIGIN:SEQ`, unique to the event.
    public static func erased(_ event: Event) -> DomainEvent? {
        let text = erasedText
        let unique = "erased:\(event.id)"
        switch event.type.rawValue {
        case "case.opened": return .caseOpened(reference: text, title: text, region: text, category: nil)
        case "case.owner-assigned": return .caseOwnerAssigned(owner: text)
        case "case.note-added": return .caseNoteAdded(note: text)
        case "case.linked": return .caseLinked(otherCase: unique, relation: nil)
        case "case.closed": return .caseClosed(outcome: text)
        case "meeting.scheduled": return .meetingScheduled(title: text, at: event.occurredAt, location: text, host: nil)
        case "meeting.attendee-recorded": return .meetingAttendeeRecorded(name: unique, role: nil, organisation: nil)
        case "meeting.agenda-item-added": return .meetingAgendaItemAdded(title: text)
        case "meeting.decision-recorded": return .meetingDecisionRecorded(decisionID: unique, text: text, proposedBy: nil)
        case "meeting.minutes-published": return .meetingMinutesPublished(summary: text)
        case "meeting.cancelled": return .meetingCancelled(reason: nil)
        case "action.raised": return .actionRaised(title: text, owner: text, due: nil, decisionID: nil, caseID: nil)
        case "action.reassigned": return .actionReassigned(owner: text)
        case "action.progress-noted": return .actionProgressNoted(note: text)
        case "action.completed": return .actionCompleted(outcome: nil)
        case "action.cancelled": return .actionCancelled(reason: nil)
        default: return nil
        }
    }
}

/// The three kinds of domain stream, named by the stream id's category (`case:ID`…).
public enum StreamKind: String, Sendable, CaseIterable {
    case `case`
    case meeting
    case action

    public func stream(_ id: String) throws -> StreamID {
        try StreamID("\(rawValue):\(id)")
    }

    /// The kind and id of a domain stream, or nil for any other stream.
    public static func parse(_ stream: StreamID) -> (kind: StreamKind, id: String)? {
        guard let category = stream.category, let kind = StreamKind(rawValue: category) else { return nil }
        let id = String(stream.rawValue.dropFirst(category.count + 1))
        return id.isEmpty ? nil : (kind, id)
    }
}

/// Where a case stands. Ordered by how far along it is: a concurrent conflict resolves to the
/// furthest, so a case never silently moves backwards.
public enum CaseStatus: String, Sendable, CaseIterable, Comparable {
    case open
    case investigating
    case referred
    case charged
    case convicted
    case closed

    public static func < (lhs: CaseStatus, rhs: CaseStatus) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    public init(parsing text: String) throws {
        guard let status = CaseStatus(rawValue: text.lowercased()) else {
            throw ConcordError(
                .invalidArgument,
                "'\(text.prefix(40))' is not a case status; use one of: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self = status
    }
}
