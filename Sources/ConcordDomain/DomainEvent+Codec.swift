import ConcordCore

extension DomainEvent {
    /// The event's data as stored (a JSON object, current schema version).
    public var data: JSONValue {
        var fields: [String: JSONValue] = [:]
        func set(_ key: String, _ value: String?) { if let value { fields[key] = .string(value) } }
        switch self {
        case let .caseOpened(reference, title, region, category):
            set("reference", reference); set("title", title); set("region", region); set("category", category)
        case let .caseStatusChanged(status): set("status", status.rawValue)
        case let .caseOwnerAssigned(owner): set("owner", owner)
        case let .caseNoteAdded(note): set("note", note)
        case let .caseLinked(otherCase, relation): set("otherCase", otherCase); set("relation", relation)
        case let .caseClosed(outcome): set("outcome", outcome)
        case let .meetingScheduled(title, at, location, host):
            set("title", title); set("at", Timestamp.iso8601(millis: at)); set("location", location); set("host", host)
        case let .meetingAttendeeRecorded(name, role, organisation):
            set("name", name); set("role", role); set("organisation", organisation)
        case let .meetingAgendaItemAdded(title): set("title", title)
        case let .meetingDecisionRecorded(decisionID, text, proposedBy):
            set("decisionId", decisionID); set("text", text); set("proposedBy", proposedBy)
        case let .meetingMinutesPublished(summary): set("summary", summary)
        case let .meetingCancelled(reason): set("reason", reason)
        case let .actionRaised(title, owner, due, decisionID, caseID):
            set("title", title); set("owner", owner); set("due", due); set("decisionId", decisionID); set("caseId", caseID)
        case let .actionReassigned(owner): set("owner", owner)
        case let .actionDueChanged(due): set("due", due)
        case let .actionProgressNoted(note): set("note", note)
        case let .actionCompleted(outcome): set("outcome", outcome)
        case let .actionCancelled(reason): set("reason", reason)
        }
        return .object(fields)
    }

    /// Decodes a stored event's data, upcasting older schema versions first.
    ///
    /// Returns nil for a type the domain does not know or a schema version newer than this build's
    /// (projections skip those); throws when a known type's data is malformed.
    public static func decode(type: String, schemaVersion: UInt32, data: JSONValue) throws -> DomainEvent? {
        guard knownTypes.contains(type) else { return nil }
        guard let upcast = try Upcasters.upcast(type: type, from: schemaVersion, data: data) else { return nil }
        let fields = Fields(type: type, data: upcast)
        switch type {
        case "case.opened":
            return .caseOpened(
                reference: try fields.string("reference"), title: try fields.string("title"),
                region: try fields.string("region"), category: try fields.optional("category")
            )
        case "case.status-changed": return .caseStatusChanged(status: try CaseStatus(parsing: try fields.string("status")))
        case "case.owner-assigned": return .caseOwnerAssigned(owner: try fields.string("owner"))
        case "case.note-added": return .caseNoteAdded(note: try fields.string("note"))
        case "case.linked": return .caseLinked(otherCase: try fields.string("otherCase"), relation: try fields.optional("relation"))
        case "case.closed": return .caseClosed(outcome: try fields.string("outcome"))
        case "meeting.scheduled":
            return .meetingScheduled(
                title: try fields.string("title"), at: try Timestamp.parse(try fields.string("at")),
                location: try fields.string("location"), host: try fields.optional("host")
            )
        case "meeting.attendee-recorded":
            return .meetingAttendeeRecorded(name: try fields.string("name"), role: try fields.optional("role"), organisation: try fields.optional("organisation"))
        case "meeting.agenda-item-added": return .meetingAgendaItemAdded(title: try fields.string("title"))
        case "meeting.decision-recorded":
            return .meetingDecisionRecorded(decisionID: try fields.string("decisionId"), text: try fields.string("text"), proposedBy: try fields.optional("proposedBy"))
        case "meeting.minutes-published": return .meetingMinutesPublished(summary: try fields.string("summary"))
        case "meeting.cancelled": return .meetingCancelled(reason: try fields.optional("reason"))
        case "action.raised":
            return .actionRaised(
                title: try fields.string("title"), owner: try fields.string("owner"), due: try fields.optionalDate("due"),
                decisionID: try fields.optional("decisionId"), caseID: try fields.optional("caseId")
            )
        case "action.reassigned": return .actionReassigned(owner: try fields.string("owner"))
        case "action.due-changed": return .actionDueChanged(due: try fields.date("due"))
        case "action.progress-noted": return .actionProgressNoted(note: try fields.string("note"))
        case "action.completed": return .actionCompleted(outcome: try fields.optional("outcome"))
        case "action.cancelled": return .actionCancelled(reason: try fields.optional("reason"))
        default: return nil
        }
    }

    /// Reads typed fields from an event's data, with errors that name the type and field.
    struct Fields {
        let type: String
        let data: JSONValue

        func string(_ key: String) throws -> String {
            guard let value = try optional(key), !value.isEmpty else {
                throw ConcordError(.invalidJSON, "\(type) data needs a non-empty string \"\(key)\"")
            }
            return value
        }

        func optional(_ key: String) throws -> String? {
            switch data[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw ConcordError(.invalidJSON, "\(type) data field \"\(key)\" must be a string")
            }
        }

        func date(_ key: String) throws -> String {
            try DueDate.validate(try string(key))
        }

        func optionalDate(_ key: String) throws -> String? {
            try optional(key).map(DueDate.validate)
        }
    }
}

/// Due dates are calendar days, `YYYY-MM-DD`.
public enum DueDate {
    @discardableResult
    public static func validate(_ text: String) throws -> String {
        guard text.utf8.count == 10, (try? Timestamp.parse(text)) != nil else {
            throw ConcordError(.invalidArgument, "'\(text.prefix(40))' is not a due date; use YYYY-MM-DD, such as 2016-05-11")
        }
        return text
    }
}
