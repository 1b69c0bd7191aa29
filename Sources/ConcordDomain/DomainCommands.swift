import ConcordCore

/// What the rules need to know beyond the stream being written: facts from other streams.
public protocol DomainLookup: Sendable {
    /// The meeting that recorded a decision, if this node holds it.
    func meetingOfDecision(_ decisionID: String) async throws -> String?
    func caseExists(_ caseID: String) async throws -> Bool
}

/// A command on a case, checked against the case's current record.
public enum CaseCommand: Sendable {
    case open(title: String, region: String, category: String?, reference: String?)
    case changeStatus(CaseStatus)
    case assign(owner: String)
    case note(String)
    case link(otherCase: String, relation: String?)
    case close(outcome: String)

    public func decide(caseID: String, current: CaseRecord?) throws -> DomainEvent {
        if case let .open(title, region, category, reference) = self {
            if let current, let opened = current.opened {
                throw ConcordError(.ruleViolation, "case \(caseID) is already open (opened \(Rules.describe(opened))); a case is opened once")
            }
            return .caseOpened(reference: reference ?? caseID, title: try Rules.text(title, "title"), region: try Rules.text(region, "region"), category: category)
        }
        guard let current, current.opened != nil else {
            throw ConcordError(.unknownID, "no case \(caseID) on this node; open it first with: concord case open \(caseID) --title … --region …")
        }
        switch self {
        case .open: fatalError("handled above")
        case .note(let text):
            return .caseNoteAdded(note: try Rules.text(text, "note"))
        case .link(let other, let relation):
            guard other != caseID else { throw ConcordError(.ruleViolation, "case \(caseID) cannot be linked to itself") }
            guard !current.links.contains(where: { $0.otherCase == other }) else {
                throw ConcordError(.ruleViolation, "case \(caseID) is already linked to \(other)")
            }
            return .caseLinked(otherCase: try Rules.text(other, "other case"), relation: relation)
        default:
            break
        }
        if current.isClosed {
            let when = current.closed.map { " (closed \(Rules.describe($0)))" } ?? ""
            throw ConcordError(.ruleViolation, "case \(caseID) is closed\(when); a closed case cannot change")
        }
        switch self {
        case .changeStatus(let status):
            guard status != .closed else {
                throw ConcordError(.ruleViolation, "close a case with: concord case close \(caseID) --outcome \"…\"")
            }
            guard status != current.status else {
                throw ConcordError(.ruleViolation, "case \(caseID) is already \(status.rawValue)")
            }
            return .caseStatusChanged(status: status)
        case .assign(let owner):
            return .caseOwnerAssigned(owner: try Rules.text(owner, "owner"))
        case .close(let outcome):
            return .caseClosed(outcome: try Rules.text(outcome, "outcome"))
        default:
            fatalError("handled above")
        }
    }
}

/// A command on a meeting, checked against the meeting's current record.
public enum MeetingCommand: Sendable {
    case schedule(title: String, at: Int64, location: String, host: String?)
    case attend(name: String, role: String?, organisation: String?)
    case agenda(title: String)
    case decide(decisionID: String, text: String, proposedBy: String?)
    case minutes(summary: String)
    case cancel(reason: String?)

    public func decide(meetingID: String, current: MeetingRecord?, lookup: some DomainLookup) async throws -> DomainEvent {
        if case let .schedule(title, at, location, host) = self {
            if let current, let scheduled = current.scheduled {
                throw ConcordError(.ruleViolation, "meeting \(meetingID) is already scheduled (\(Rules.describe(scheduled)))")
            }
            return .meetingScheduled(title: try Rules.text(title, "title"), at: at, location: try Rules.text(location, "location"), host: host)
        }
        guard let current, current.scheduled != nil else {
            throw ConcordError(.unknownID, "no meeting \(meetingID) on this node; schedule it first with: concord meeting schedule \(meetingID) --title … --at … --location …")
        }
        if current.isCancelled {
            throw ConcordError(.ruleViolation, "meeting \(meetingID) was cancelled; nothing more can be recorded on it")
        }
        switch self {
        case .schedule: fatalError("handled above")
        case let .attend(name, role, organisation):
            return .meetingAttendeeRecorded(name: try Rules.text(name, "name"), role: role, organisation: organisation)
        case .agenda(let title):
            return .meetingAgendaItemAdded(title: try Rules.text(title, "agenda item"))
        case let .decide(decisionID, text, proposedBy):
            try Identifier.validate(decisionID, what: "decision id", maxLength: 100)
            if let existing = current.decisions[decisionID] {
                throw ConcordError(.ruleViolation, "decision \(decisionID) is already recorded on meeting \(meetingID) (\(Rules.describe(existing.provenance)))")
            }
            if let other = try await lookup.meetingOfDecision(decisionID) {
                throw ConcordError(.ruleViolation, "decision id \(decisionID) is already used by meeting \(other); choose another id")
            }
            return .meetingDecisionRecorded(decisionID: decisionID, text: try Rules.text(text, "decision text"), proposedBy: proposedBy)
        case .minutes(let summary):
            return .meetingMinutesPublished(summary: try Rules.text(summary, "minutes"))
        case .cancel(let reason):
            return .meetingCancelled(reason: reason)
        }
    }
}

/// A command on an action, checked against the action's current record.
public enum ActionCommand: Sendable {
    case raise(title: String, owner: String, due: String?, decisionID: String?, caseID: String?)
    case reassign(owner: String)
    case changeDue(String)
    case progress(note: String)
    case complete(outcome: String?)
    case cancel(reason: String?)

    public func decide(actionID: String, current: ActionRecord?, lookup: some DomainLookup) async throws -> DomainEvent {
        if case let .raise(title, owner, due, decisionID, caseID) = self {
            if let current, let raised = current.raised {
                throw ConcordError(.ruleViolation, "action \(actionID) is already raised (\(Rules.describe(raised)))")
            }
            if let decisionID, try await lookup.meetingOfDecision(decisionID) == nil {
                throw ConcordError(.unknownID, "no decision \(decisionID) on this node; record it with: concord meeting decide MEETING-ID \(decisionID) \"…\"")
            }
            if let caseID, try await !lookup.caseExists(caseID) {
                throw ConcordError(.unknownID, "no case \(caseID) on this node")
            }
            return .actionRaised(
                title: try Rules.text(title, "title"), owner: try Rules.text(owner, "owner"),
                due: try due.map(DueDate.validate), decisionID: decisionID, caseID: caseID
            )
        }
        guard let current, current.raised != nil else {
            throw ConcordError(.unknownID, "no action \(actionID) on this node; raise it first with: concord action raise \(actionID) --title … --owner …")
        }
        if let status = current.status, status != .open {
            throw ConcordError(.ruleViolation, "action \(actionID) is \(status.rawValue); only an open action can change")
        }
        switch self {
        case .raise: fatalError("handled above")
        case .reassign(let owner):
            guard owner != current.owner else { throw ConcordError(.ruleViolation, "action \(actionID) is already owned by \(owner)") }
            return .actionReassigned(owner: try Rules.text(owner, "owner"))
        case .changeDue(let due):
            return .actionDueChanged(due: try DueDate.validate(due))
        case .progress(let note):
            return .actionProgressNoted(note: try Rules.text(note, "progress note"))
        case .complete(let outcome):
            return .actionCompleted(outcome: outcome)
        case .cancel(let reason):
            return .actionCancelled(reason: reason)
        }
    }
}

enum Rules {
    static func text(_ value: String, _ what: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw ConcordError(.invalidArgument, "the \(what) must not be empty") }
        guard trimmed.utf8.count <= 10_000 else { throw ConcordError(.tooLarge, "the \(what) is longer than 10,000 bytes") }
        return trimmed
    }

    static func describe(_ provenance: Provenance) -> String {
        "\(String(Timestamp.iso8601(millis: provenance.occurredAt).prefix(10))) by \(provenance.actor), event \(provenance.event.origin.short):\(provenance.event.seq)"
    }
}

extension Character {
    fileprivate var isBlank: Bool { self == " " || self == "\t" || self == "\n" || self == "\r" }
}

extension String {
    fileprivate enum Blank { case whitespaces }
    fileprivate func trimmingCharacters(in _: Blank) -> String {
        String(drop(while: \.isBlank).reversed().drop(while: \.isBlank).reversed())
    }
}
