import ConcordCore

/// A case as its stream's events describe it.
public struct CaseRecord: Sendable, Hashable {
    public struct Note: Sendable, Hashable {
        public var text: String
        public var provenance: Provenance
    }

    public struct Link: Sendable, Hashable {
        public var otherCase: String
        public var relation: String?
        public var provenance: Provenance
    }

    public let id: String
    public internal(set) var fields = RecordFields()
    /// The first `case.opened` in projection order; nil when the stream holds none (yet).
    public internal(set) var opened: Provenance?
    public internal(set) var closed: Provenance?
    public internal(set) var notes: [Note] = []
    public internal(set) var links: [Link] = []
    public internal(set) var lastOccurredAt: Int64 = .min
    /// Events on the stream that the domain did not understand (unknown type or malformed data).
    public internal(set) var ignoredEvents = 0
    /// Every region a `case.opened` of the stream named. A region sharing rule grants a case only
    /// while this is one region: a case re-opened under another (by any origin) is withheld from
    /// both, never sent to the region a later writer chose (docs/privacy.md).
    public internal(set) var regionsNamed: Set<String> = []

    init(id: String) { self.id = id }

    static let winnerRules: [String: @Sendable ([String]) -> String] = [
        "status": { values in values.max { (CaseStatus(rawValue: $0) ?? .open) < (CaseStatus(rawValue: $1) ?? .open) }! },
    ]

    public var reference: String? { fields.value("reference") }
    public var title: String? { fields.value("title") }
    public var region: String? { fields.value("region") }
    public var category: String? { fields.value("category") }
    public var owner: String? { fields.value("owner") }
    public var outcome: String? { fields.value("outcome") }
    public var status: CaseStatus? { fields.value("status", winner: Self.winnerRules["status"]!).flatMap(CaseStatus.init(rawValue:)) }
    public var isClosed: Bool { status == .closed }
    public var conflicts: [FieldConflict] { fields.conflicts(rules: Self.winnerRules) }

    mutating func apply(_ domainEvent: DomainEvent, _ event: Event, history: CausalHistory) {
        let by = event.id
        switch domainEvent {
        case let .caseOpened(reference, title, region, category):
            if opened == nil { opened = Provenance(event) }
            regionsNamed.insert(region)
            fields.write("reference", reference, by: by, history: history)
            fields.write("title", title, by: by, history: history)
            fields.write("region", region, by: by, history: history)
            fields.write("category", category, by: by, history: history)
            fields.write("status", CaseStatus.open.rawValue, by: by, history: history)
        case let .caseStatusChanged(status):
            fields.write("status", status.rawValue, by: by, history: history)
        case let .caseOwnerAssigned(owner):
            fields.write("owner", owner, by: by, history: history)
        case let .caseNoteAdded(note):
            notes.append(Note(text: note, provenance: Provenance(event)))
        case let .caseLinked(otherCase, relation):
            links.removeAll { $0.otherCase == otherCase }
            links.append(Link(otherCase: otherCase, relation: relation, provenance: Provenance(event)))
        case let .caseClosed(outcome):
            closed = Provenance(event)
            fields.write("status", CaseStatus.closed.rawValue, by: by, history: history)
            fields.write("outcome", outcome, by: by, history: history)
        default:
            ignoredEvents += 1
        }
    }
}
