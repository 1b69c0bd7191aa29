import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordSyncProtocol

/// Carries out domain commands against any store a node records in (a region's file, a
/// PostgreSQL hub): folds the stream's current record from its events, applies the rules,
/// appends the resulting event expecting the stream's version (so a concurrent writer makes the
/// second attempt fail cleanly, with nothing stored), then brings the read models up to date.
/// Written once: no backend is named here.
public struct DomainRecorder: Sendable {
    public let store: any RecordingBackend & ReadModelReader

    public init(store: any RecordingBackend & ReadModelReader) {
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
    public func run(_ command: CaseCommand, caseID: String, _ context: Context) async throws -> StoredEvent {
        let stream = try StreamKind.case.stream(caseID)
        let (record, version) = try await current(stream)
        return try await append(try command.decide(caseID: caseID, current: record?.caseRecord), stream, version, context)
    }

    @discardableResult
    public func run(_ command: MeetingCommand, meetingID: String, _ context: Context) async throws -> StoredEvent {
        let stream = try StreamKind.meeting.stream(meetingID)
        let (record, version) = try await current(stream)
        return try await append(try await command.decide(meetingID: meetingID, current: record?.meetingRecord, lookup: lookup), stream, version, context)
    }

    @discardableResult
    public func run(_ command: ActionCommand, actionID: String, _ context: Context) async throws -> StoredEvent {
        let stream = try StreamKind.action.stream(actionID)
        let (record, version) = try await current(stream)
        return try await append(try await command.decide(actionID: actionID, current: record?.actionRecord, lookup: lookup), stream, version, context)
    }

    public var lookup: some DomainLookup { ReadModelLookup(store: store) }

    /// The stream's record and version, both from one read of its events (in stream order).
    private func current(_ stream: StreamID) async throws -> (StreamRecord?, Int) {
        let events = try await store.streamEvents(stream, .live)
        return (StreamFolder.fold(stream, events: events.map(\.event)), events.last?.streamVersion ?? 0)
    }

    private func append(_ event: DomainEvent, _ stream: StreamID, _ version: Int, _ context: Context) async throws -> StoredEvent {
        let draft = try EventDraft(
            stream: stream, type: EventType(event.typeName), schemaVersion: event.schemaVersion, data: event.data,
            actor: context.actor, occurredAt: context.occurredAt
        )
        let result = try await store.append([draft], expecting: [stream: .exactly(version)])
        try await store.catchUpReadModels()
        return result.events[0]
    }
}

/// Cross-stream facts the rules need, answered from the live read models.
struct ReadModelLookup: DomainLookup {
    let store: any ReadModelReader

    func meetingOfDecision(_ decisionID: String) async throws -> String? {
        let result = try await store.queryReadModels(.live, sql: "SELECT meeting_id FROM {schema}.decisions WHERE decision_id = $1 ORDER BY meeting_id LIMIT 1", [.text(decisionID)])
        return result.rows.first.map { $0[0].description }
    }

    func caseExists(_ caseID: String) async throws -> Bool {
        try await !store.queryReadModels(.live, sql: "SELECT 1 FROM {schema}.cases WHERE case_id = $1", [.text(caseID)]).rows.isEmpty
    }
}
