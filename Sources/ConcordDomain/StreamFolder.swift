import ConcordCore

/// A domain stream folded into its record.
public enum StreamRecord: Sendable, Hashable {
    case `case`(CaseRecord)
    case meeting(MeetingRecord)
    case action(ActionRecord)
}

extension StreamRecord {
    public var caseRecord: CaseRecord? { if case .case(let record) = self { record } else { nil } }
    public var meetingRecord: MeetingRecord? { if case .meeting(let record) = self { record } else { nil } }
    public var actionRecord: ActionRecord? { if case .action(let record) = self { record } else { nil } }
}

/// Folds one stream's events into its record: deterministically, in `(hlc, origin, seq)` order,
/// whatever order the events arrived in, so every node holding the same events gets the same record.
public enum StreamFolder {
    /// Nil for streams outside the domain's categories.
    public static func fold(_ stream: StreamID, events: [Event]) -> StreamRecord? {
        foldState(stream, events: events)?.record
    }

    /// The whole fold state of a stream's events, in projection order (nil outside the domain).
    public static func foldState(_ stream: StreamID, events: [Event]) -> StreamFold? {
        guard var fold = StreamFold(stream: stream) else { return nil }
        for event in events.sorted(by: Event.projectionOrder) { fold.add(event) }
        return fold
    }

    /// The domain event, when the type is known, belongs on this kind of stream, and its data decodes.
    /// Anything else is skipped the same way on every node.
    static func decodeForKind(_ event: Event, _ kind: StreamKind) -> DomainEvent? {
        if event.disclosure == .erased {
            return DomainEvent.erased(event).flatMap { $0.category == kind ? $0 : nil }
        }
        guard DomainEvent.knownTypes.contains(event.type.rawValue),
              let data = try? JSONValue(parsing: event.payload),
              let decoded = try? DomainEvent.decode(type: event.type.rawValue, schemaVersion: event.schemaVersion, data: data),
              decoded.category == kind
        else { return nil }
        return decoded
    }
}
