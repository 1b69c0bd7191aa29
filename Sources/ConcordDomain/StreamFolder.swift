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
        guard let (kind, id) = StreamKind.parse(stream) else { return nil }
        let sorted = events.sorted(by: Event.projectionOrder)
        var history = CausalHistory()
        // Withheld events are not folded: a stream holding any shows as withheld (ReadModelRows).
        // An erased event folds as what its type alone says, its text marked erased.
        let ordered = sorted.compactMap { event -> Event? in
            switch event.disclosure {
            case .full: return event
            case .withheld: return nil
            case .erased:
                var shown = event
                shown.actor = DomainEvent.erasedText
                return shown
            }
        }
        switch kind {
        case .case:
            var record = CaseRecord(id: id)
            for event in ordered {
                history.add(event)
                if let domainEvent = decodeForKind(event, .case) { record.apply(domainEvent, event, history: history) } else { record.ignoredEvents += 1 }
                record.lastOccurredAt = max(record.lastOccurredAt, event.occurredAt)
            }
            return .case(record)
        case .meeting:
            var record = MeetingRecord(id: id)
            for event in ordered {
                history.add(event)
                if let domainEvent = decodeForKind(event, .meeting) { record.apply(domainEvent, event, history: history) } else { record.ignoredEvents += 1 }
            }
            return .meeting(record)
        case .action:
            var record = ActionRecord(id: id)
            for event in ordered {
                history.add(event)
                if let domainEvent = decodeForKind(event, .action) { record.apply(domainEvent, event, history: history) } else { record.ignoredEvents += 1 }
            }
            return .action(record)
        }
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
