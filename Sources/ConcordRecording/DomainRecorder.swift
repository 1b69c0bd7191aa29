import ConcordCore
import ConcordDomain
import ConcordProjections

/// Carries out domain commands against a store: folds the stream's current record, applies the
/// rules, appends the resulting event expecting the stream's version (so a concurrent writer on
/// this node makes the second attempt fail cleanly), then brings the read models up to date.
public struct DomainRecorder<Store: ReadModelStore>: Sendable {
    public let store: Store

    public init(store: Store) {
        self.store = store
    }

    public struct Context: Sendable {
        public var actor: String
        public var occurredAt: Int64

        public init(actor: String, occurredAt: Int64) {
            self.actor = actor
            self.occurredAt = occurredAt
        }
    }

    @discardableResult
    public func run(_ command: CaseCommand, caseID: String, _ context: Context) throws -> StoredEvent {
        let stream = try StreamKind.case.stream(caseID)
        let (record, version) = try current(stream)
        return try append(try command.decide(caseID: caseID, current: record?.caseRecord), stream, version, context)
    }

    @discardableResult
    public func run(_ command: MeetingCommand, meetingID: String, _ context: Context) throws -> StoredEvent {
        let stream = try StreamKind.meeting.stream(meetingID)
        let (record, version) = try current(stream)
        return try append(try command.decide(meetingID: meetingID, current: record?.meetingRecord, lookup: lookup), stream, version, context)
    }

    @discardableResult
    public func run(_ command: ActionCommand, actionID: String, _ context: Context) throws -> StoredEvent {
        let stream = try StreamKind.action.stream(actionID)
        let (record, version) = try current(stream)
        return try append(try command.decide(actionID: actionID, current: record?.actionRecord, lookup: lookup), stream, version, context)
    }

    public var lookup: some DomainLookup { ReadModelLookup(store: store) }

    private func current(_ stream: StreamID) throws -> (StreamRecord?, Int) {
        let version = try store.streamVersion(of: stream)
        return (try store.record(of: stream, .live), version)
    }

    private func append(_ event: DomainEvent, _ stream: StreamID, _ version: Int, _ context: Context) throws -> StoredEvent {
        let draft = try EventDraft(
            stream: stream, type: EventType(event.typeName), schemaVersion: event.schemaVersion, data: event.data,
            actor: context.actor, occurredAt: context.occurredAt
        )
        let result = try store.append([draft], expecting: [stream: .exactly(version)])
        try store.catchUpProjections()
        return result.events[0]
    }
}

/// Cross-stream facts the rules need, answered from the live read models.
struct ReadModelLookup<Store: ReadModelStore>: DomainLookup {
    let store: Store

    func meetingOfDecision(_ decisionID: String) throws -> String? {
        let result = try store.queryReadModels(.live, sql: "SELECT meeting_id FROM {schema}.decisions WHERE decision_id = ? ORDER BY meeting_id LIMIT 1", [.text(decisionID)])
        return result.rows.first.map { $0[0].description }
    }

    func caseExists(_ caseID: String) throws -> Bool {
        try !store.queryReadModels(.live, sql: "SELECT 1 FROM {schema}.cases WHERE case_id = ?", [.text(caseID)]).rows.isEmpty
    }
}

