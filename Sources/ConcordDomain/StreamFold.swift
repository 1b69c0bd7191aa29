import ConcordCore

/// A domain stream's fold so far: its record, the causal history the fold consults, and the last
/// event folded in projection order. Kept beside the read models (docs/storage-format.md,
/// `fold_states`), so that an event arriving after the stream's last one costs its own fold, not
/// the stream's length; an event that sorts earlier needs the whole stream folded again.
///
/// Folding the events one by one in projection order is `StreamFolder.fold`: a state extended
/// with events that sort after its tail is exactly the fold of all of them.
public struct StreamFold: Sendable, Hashable {
    public let stream: StreamID
    public internal(set) var record: StreamRecord
    var history = CausalHistory()
    /// The last event folded, in projection order.
    public internal(set) var tail: (hlc: HLCTimestamp, id: EventID)?
    /// The tail event's hash, when the events folded carried theirs (a store reading events for
    /// a fold alone leaves it out, and sets it before keeping the state). A kept state is used
    /// only when its stream and its tail's hash match what the store holds (docs/storage-format.md).
    public var tailHash: EventHash?
    /// Events folded, withheld ones included.
    public internal(set) var eventCount = 0
    /// Whether any event folded was withheld or erased: such a stream's rows also depend on
    /// those events' list (`ReadModelRows`), so its state is not kept.
    public internal(set) var hasUndisclosed = false

    /// An empty fold; nil for streams outside the domain's categories.
    public init?(stream: StreamID) {
        guard let (kind, id) = StreamKind.parse(stream) else { return nil }
        self.stream = stream
        switch kind {
        case .case: record = .case(CaseRecord(id: id))
        case .meeting: record = .meeting(MeetingRecord(id: id))
        case .action: record = .action(ActionRecord(id: id))
        }
    }

    /// Whether `event` can be folded onto this state: its opening is held and it sorts after
    /// the tail.
    public func canExtend(with event: Event) -> Bool {
        guard event.disclosure == .full, let tail else { return event.disclosure == .full }
        if event.hlc != tail.hlc { return event.hlc > tail.hlc }
        if event.origin != tail.id.origin { return event.origin > tail.id.origin }
        return event.seq > tail.id.seq
    }

    /// Folds one more event. The caller keeps projection order: every event passed sorts after
    /// the one before (`canExtend`, or `StreamFolder.fold`'s sort).
    public mutating func add(_ event: Event) {
        eventCount += 1
        tail = (event.hlc, event.id)
        tailHash = event.hash.bytes.count == 32 ? event.hash : nil
        // Withheld events are not folded: a stream holding any shows as withheld (ReadModelRows).
        // An erased event folds as what its type alone says, its text marked erased.
        var shown = event
        switch event.disclosure {
        case .full: break
        case .withheld:
            hasUndisclosed = true
            return
        case .erased:
            hasUndisclosed = true
            shown.actor = DomainEvent.erasedText
        }
        history.add(shown)
        switch record {
        case .case(var record):
            if let domainEvent = StreamFolder.decodeForKind(shown, .case) { record.apply(domainEvent, shown, history: history) } else { record.ignoredEvents += 1 }
            record.lastOccurredAt = max(record.lastOccurredAt, shown.occurredAt)
            self.record = .case(record)
        case .meeting(var record):
            if let domainEvent = StreamFolder.decodeForKind(shown, .meeting) { record.apply(domainEvent, shown, history: history) } else { record.ignoredEvents += 1 }
            self.record = .meeting(record)
        case .action(var record):
            if let domainEvent = StreamFolder.decodeForKind(shown, .action) { record.apply(domainEvent, shown, history: history) } else { record.ignoredEvents += 1 }
            self.record = .action(record)
        }
    }

    public static func == (lhs: StreamFold, rhs: StreamFold) -> Bool {
        lhs.stream == rhs.stream && lhs.record == rhs.record && lhs.history == rhs.history
            && lhs.tail?.hlc == rhs.tail?.hlc && lhs.tail?.id == rhs.tail?.id && lhs.tailHash == rhs.tailHash
            && lhs.eventCount == rhs.eventCount && lhs.hasUndisclosed == rhs.hasUndisclosed
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stream)
        hasher.combine(record)
        hasher.combine(eventCount)
    }
}
