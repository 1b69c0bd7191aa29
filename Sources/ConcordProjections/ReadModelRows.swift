import ConcordCore
import ConcordDomain

/// The read-model rows one stream contributes, table by table.
public struct ReadModelRows: Sendable, Hashable {
    public var tables: [String: [[SQLValue]]] = [:]

    public init() {}

    mutating func add(_ table: String, _ row: [SQLValue]) {
        tables[table, default: []].append(row)
    }

    public var rowCount: Int { tables.values.reduce(0) { $0 + $1.count } }

    /// The rows of a stream folded from `events`. Pure: the same events, with the same
    /// openings, give the same rows on every node.
    ///
    /// A stream holding any withheld event (a stub) shows as withheld: one row in its kind's
    /// main table with status `withheld` and nothing else, never rows folded from part of its
    /// history. Every withheld or erased event has a row in `undisclosed`.
    public static func rows(stream: StreamID, events: [Event]) -> ReadModelRows {
        rows(stream: stream, events: events, fold: StreamFolder.foldState(stream, events: events))
    }

    /// The same, given the events' fold (`StreamFolder.foldState(stream, events:)`).
    public static func rows(stream: StreamID, events: [Event], fold: StreamFold?) -> ReadModelRows {
        let undisclosed = events.filter { $0.disclosure != .full }.sorted { $0.id < $1.id }
        guard undisclosed.contains(where: { $0.disclosure == .withheld }), let (kind, id) = StreamKind.parse(stream) else {
            var rows = rows(stream: stream, record: fold?.record)
            add(undisclosed, of: stream, to: &rows)
            return rows
        }
        var rows = ReadModelRows()
        let streamValue = SQLValue.text(stream.rawValue)
        let withheld = SQLValue.text("withheld")
        switch kind {
        case .case:
            rows.add("cases", [.text(id), streamValue, .null, .null, .null, .null, withheld, .null, .null, .null, .null, .null, .null, .null, .integer(0), .integer(0), .integer(0)])
        case .meeting:
            rows.add("meetings", [.text(id), streamValue, .null, .null, .null, .null, withheld, .null, .null, .null, .null, .integer(0), .integer(0)])
        case .action:
            rows.add("actions", [.text(id), streamValue, .null, .null, .null, withheld, .null, .null, .null, .null, .null, .null, .integer(0), .integer(0)])
        }
        add(undisclosed, of: stream, to: &rows)
        return rows
    }

    private static func add(_ undisclosed: [Event], of stream: StreamID, to rows: inout ReadModelRows) {
        for event in undisclosed {
            rows.add("undisclosed", [
                .text(stream.rawValue), .text(event.id.description), .text(event.disclosure == .erased ? "erased" : "withheld"),
                .text(event.type.rawValue), .text(Timestamp.iso8601(millis: event.occurredAt)),
            ])
        }
    }

    /// The rows of a stream's record. Pure: the same events give the same rows on every node.
    public static func rows(stream: StreamID, record: StreamRecord?) -> ReadModelRows {
        var rows = ReadModelRows()
        guard let record else { return rows }
        let streamValue = SQLValue.text(stream.rawValue)
        func time(_ millis: Int64?) -> SQLValue { millis.map { .text(Timestamp.iso8601(millis: $0)) } ?? .null }
        func id(_ event: EventID?) -> SQLValue { SQLValue(event?.description) }
        var conflicts: [FieldConflict] = []
        switch record {
        case .case(let c):
            guard let opened = c.opened else { break }
            rows.add("cases", [
                .text(c.id), streamValue, SQLValue(c.reference), SQLValue(c.title), SQLValue(c.region), SQLValue(c.category),
                SQLValue(c.status?.rawValue), SQLValue(c.owner), SQLValue(c.outcome), time(opened.occurredAt), .text(opened.actor),
                id(opened.event), time(c.closed?.occurredAt), time(c.lastOccurredAt), .integer(Int64(c.notes.count)),
                .integer(Int64(c.links.count)), .integer(Int64(c.regionsNamed.count)),
            ])
            for note in c.notes {
                rows.add("case_notes", [.text(c.id), id(note.provenance.event), streamValue, time(note.provenance.occurredAt), .text(note.provenance.actor), .text(note.text)])
            }
            for link in c.links {
                rows.add("case_links", [.text(c.id), .text(link.otherCase), streamValue, SQLValue(link.relation), time(link.provenance.occurredAt), .text(link.provenance.actor), id(link.provenance.event)])
            }
            conflicts = c.conflicts
        case .meeting(let m):
            guard let scheduled = m.scheduled else { break }
            rows.add("meetings", [
                .text(m.id), streamValue, SQLValue(m.title), SQLValue(m.at), SQLValue(m.location), SQLValue(m.host), SQLValue(m.status),
                SQLValue(m.minutes), SQLValue(m.cancelReason), .text(scheduled.actor), id(scheduled.event),
                .integer(Int64(m.attendees.count)), .integer(Int64(m.decisions.count)),
            ])
            for attendee in m.attendees.values.sorted(by: { $0.name < $1.name }) {
                rows.add("attendees", [.text(m.id), .text(attendee.name), streamValue, SQLValue(attendee.role), SQLValue(attendee.organisation)])
            }
            for (index, item) in m.agenda.enumerated() {
                rows.add("agenda_items", [.text(m.id), .integer(Int64(index + 1)), streamValue, .text(item.title), .text(item.provenance.actor), id(item.provenance.event)])
            }
            for decision in m.decisions.values.sorted(by: { $0.id < $1.id }) {
                rows.add("decisions", [
                    .text(m.id), .text(decision.id), streamValue, SQLValue(m.decisionText(decision.id)), SQLValue(decision.proposedBy),
                    time(decision.provenance.occurredAt), .text(decision.provenance.actor), .text(decision.provenance.event.origin.hex),
                    id(decision.provenance.event),
                ])
            }
            conflicts = m.conflicts
        case .action(let a):
            guard let raised = a.raised else { break }
            rows.add("actions", [
                .text(a.id), streamValue, SQLValue(a.title), SQLValue(a.owner), SQLValue(a.due), SQLValue(a.status?.rawValue),
                SQLValue(a.decisionID), SQLValue(a.caseID), SQLValue(a.outcome), time(raised.occurredAt), .text(raised.actor),
                time(a.finished?.occurredAt), .integer(Int64(a.progress.count)), .integer(Int64(a.linksNamed.count)),
            ])
            for entry in a.progress {
                rows.add("action_progress", [.text(a.id), id(entry.provenance.event), streamValue, time(entry.provenance.occurredAt), .text(entry.provenance.actor), .text(entry.note)])
            }
            conflicts = a.conflicts
        }
        for conflict in conflicts {
            var candidates = [UInt8]()
            candidates.append(UInt8(ascii: "["))
            for (index, write) in conflict.writes.enumerated() {
                if index > 0 { candidates.append(UInt8(ascii: ",")) }
                var object = JSONObjectWriter()
                object.field("event", write.event.description)
                object.field("value", write.value)
                candidates.append(contentsOf: object.finish().utf8)
            }
            candidates.append(UInt8(ascii: "]"))
            rows.add("conflicts", [streamValue, .text(conflict.field), .text(conflict.chosen), .text(String(decoding: candidates, as: UTF8.self))])
        }
        return rows
    }
}
