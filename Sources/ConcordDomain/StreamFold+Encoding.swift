import ConcordCore

/// The bytes a kept fold state is stored as (docs/storage-format.md, `fold_states`): compact,
/// and the same bytes for the same state on every node and run (dictionaries are written in key
/// order), so a kept state can be compared byte for byte with one folded again.
///
/// Layout: a format byte (2), the kind (0 case, 1 meeting, 2 action), the stream's id, the tail
/// event's hash (0 or 32 bytes), then the origins named anywhere in the state (once each, as
/// hex), then the state, where an origin is its index in that table. A state names its stream
/// and its tail's hash so that a store uses it only for that stream and only while that event is
/// the one it holds (a state of format 1, which named neither, is never used). Integers are LEB128 varints, Int64 zigzag-encoded first; a string is its UTF-8
/// length and bytes; an optional is a 0/1 byte and the value.
extension StreamFold {
    static let encodingFormat: UInt8 = 2

    public func encoded() -> [UInt8] {
        var body = FoldStateWriter()
        body.state(self)
        var out: [UInt8] = [Self.encodingFormat, record.kindByte]
        var header = FoldStateWriter()
        header.string(stream.rawValue)
        header.count(tailHash?.bytes.count ?? 0)
        header.bytes += tailHash?.bytes ?? []
        header.count(body.origins.count)
        for origin in body.originOrder { header.string(origin.hex) }
        out += header.bytes
        out += body.bytes
        return out
    }

    /// The state `encoded()` wrote for `stream`. Throws on anything else (another stream's state,
    /// an older format): a state that does not decode is folded again from the events instead.
    public init(decoding bytes: [UInt8], stream: StreamID) throws {
        var reader = FoldStateReader(bytes)
        guard try reader.byte() == Self.encodingFormat else { throw FoldStateReader.malformed }
        let kind = try reader.byte()
        guard var fold = StreamFold(stream: stream), fold.record.kindByte == kind, try reader.string() == stream.rawValue else { throw FoldStateReader.malformed }
        let hashLength = try reader.count()
        guard hashLength == 0 || hashLength == 32 else { throw FoldStateReader.malformed }
        fold.tailHash = hashLength == 0 ? nil : EventHash(bytes: try reader.bytes(hashLength))
        let originCount = try reader.count()
        for _ in 0..<originCount {
            reader.origins.append(try OriginID(hex: try reader.string()))
        }
        try reader.state(into: &fold)
        guard reader.atEnd else { throw FoldStateReader.malformed }
        self = fold
    }
}

extension StreamRecord {
    var kindByte: UInt8 {
        switch self {
        case .case: 0
        case .meeting: 1
        case .action: 2
        }
    }
}

struct FoldStateWriter {
    var bytes: [UInt8] = []
    var origins: [OriginID: Int] = [:]
    var originOrder: [OriginID] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func unsigned(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func signed(_ value: Int64) { unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }
    mutating func count(_ value: Int) { unsigned(UInt64(value)) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func string(_ value: String) {
        count(value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }

    mutating func optional(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    mutating func origin(_ origin: OriginID) {
        if let index = origins[origin] { return count(index) }
        origins[origin] = originOrder.count
        count(originOrder.count)
        originOrder.append(origin)
    }

    mutating func eventID(_ id: EventID) {
        origin(id.origin)
        unsigned(id.seq)
    }

    mutating func provenance(_ provenance: Provenance?) {
        bool(provenance != nil)
        guard let provenance else { return }
        eventID(provenance.event)
        signed(provenance.occurredAt)
        signed(provenance.recordedAt)
        string(provenance.actor)
    }

    mutating func fields(_ fields: RecordFields) {
        count(fields.registers.count)
        for name in fields.registers.keys.sorted() {
            string(name)
            let frontier = fields.registers[name]!.frontier
            count(frontier.count)
            for write in frontier {
                eventID(write.event)
                string(write.value)
            }
        }
    }

    mutating func state(_ fold: StreamFold) {
        count(fold.eventCount)
        bool(fold.hasUndisclosed)
        bool(fold.tail != nil)
        if let tail = fold.tail {
            signed(tail.hlc.wallMillis)
            unsigned(UInt64(tail.hlc.counter))
            eventID(tail.id)
        }
        count(fold.history.seen.count)
        for id in fold.history.seen.keys.sorted() {
            eventID(id)
            let vector = fold.history.seen[id]!
            count(vector.count)
            for origin in vector.keys.sorted() {
                self.origin(origin)
                unsigned(vector[origin]!)
            }
        }
        switch fold.record {
        case .case(let record):
            fields(record.fields)
            provenance(record.opened)
            provenance(record.closed)
            count(record.notes.count)
            for note in record.notes {
                string(note.text)
                provenance(note.provenance)
            }
            count(record.links.count)
            for link in record.links {
                string(link.otherCase)
                optional(link.relation)
                provenance(link.provenance)
            }
            signed(record.lastOccurredAt)
            count(record.ignoredEvents)
            count(record.regionsNamed.count)
            for region in record.regionsNamed.sorted() { string(region) }
        case .meeting(let record):
            fields(record.fields)
            provenance(record.scheduled)
            count(record.attendees.count)
            for key in record.attendees.keys.sorted() {
                let attendee = record.attendees[key]!
                string(key)
                string(attendee.name)
                optional(attendee.role)
                optional(attendee.organisation)
            }
            count(record.agenda.count)
            for item in record.agenda {
                string(item.title)
                provenance(item.provenance)
            }
            count(record.decisions.count)
            for key in record.decisions.keys.sorted() {
                let decision = record.decisions[key]!
                string(key)
                string(decision.id)
                optional(decision.proposedBy)
                provenance(decision.provenance)
            }
            count(record.ignoredEvents)
        case .action(let record):
            fields(record.fields)
            provenance(record.raised)
            provenance(record.finished)
            count(record.progress.count)
            for entry in record.progress {
                string(entry.note)
                provenance(entry.provenance)
            }
            count(record.ignoredEvents)
            count(record.linksNamed.count)
            for link in record.linksNamed.sorted() {
                optional(link.decision)
                optional(link.case)
            }
        }
    }
}

struct FoldStateReader {
    static let malformed = ConcordError(.invalidArgument, "a kept fold state does not decode")

    private let bytes: [UInt8]
    private var index = 0
    var origins: [OriginID] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func byte() throws -> UInt8 {
        guard index < bytes.count else { throw Self.malformed }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func unsigned() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64, shift < 63 || next <= 1 else { throw Self.malformed }
            value |= UInt64(next & 0x7F) << shift
            if next < 0x80 { return value }
            shift += 7
        }
    }

    mutating func signed() throws -> Int64 {
        let raw = try unsigned()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// A count of things still to read: never more than the bytes left (each thing takes one).
    mutating func count() throws -> Int {
        let value = try unsigned()
        guard value <= UInt64(bytes.count - index) else { throw Self.malformed }
        return Int(value)
    }

    /// A number that is not a count of things to read (events folded, events ignored).
    mutating func integer() throws -> Int {
        guard let value = Int(exactly: try unsigned()) else { throw Self.malformed }
        return value
    }

    mutating func bool() throws -> Bool {
        switch try byte() {
        case 0: false
        case 1: true
        default: throw Self.malformed
        }
    }

    mutating func string() throws -> String {
        let length = try count()
        defer { index += length }
        guard let text = String(validating: bytes[index..<index + length], as: UTF8.self) else { throw Self.malformed }
        return text
    }

    mutating func optional() throws -> String? { try bool() ? try string() : nil }

    /// `length` raw bytes (the length was read with `count()`, so they are there).
    mutating func bytes(_ length: Int) throws -> [UInt8] {
        guard length <= bytes.count - index else { throw Self.malformed }
        defer { index += length }
        return Array(bytes[index..<index + length])
    }

    mutating func origin() throws -> OriginID {
        let index = try unsigned()
        guard index < UInt64(origins.count) else { throw Self.malformed }
        return origins[Int(index)]
    }

    mutating func eventID() throws -> EventID {
        let origin = try origin()
        let seq = try unsigned()
        guard seq >= 1 else { throw Self.malformed }
        return EventID(origin: origin, seq: seq)
    }

    mutating func provenance() throws -> Provenance? {
        guard try bool() else { return nil }
        return Provenance(event: try eventID(), occurredAt: try signed(), recordedAt: try signed(), actor: try string())
    }

    mutating func fields() throws -> RecordFields {
        var registers: [String: ConflictRegister] = [:]
        for _ in 0..<(try count()) {
            let name = try string()
            var frontier: [ConflictRegister.Write] = []
            for _ in 0..<(try count()) { frontier.append(ConflictRegister.Write(event: try eventID(), value: try string())) }
            registers[name] = ConflictRegister(frontier: frontier)
        }
        return RecordFields(registers: registers)
    }

    mutating func state(into fold: inout StreamFold) throws {
        fold.eventCount = try integer()
        fold.hasUndisclosed = try bool()
        if try bool() {
            let wall = try signed()
            let counter = try unsigned()
            guard counter <= UInt64(UInt16.max) else { throw Self.malformed }
            fold.tail = (HLCTimestamp(wallMillis: wall, counter: UInt16(counter)), try eventID())
        }
        var seen: [EventID: [OriginID: UInt64]] = [:]
        for _ in 0..<(try count()) {
            let id = try eventID()
            var vector: [OriginID: UInt64] = [:]
            for _ in 0..<(try count()) { vector[try origin()] = try unsigned() }
            seen[id] = vector
        }
        fold.history = CausalHistory(seen: seen)
        switch fold.record {
        case .case(var record):
            record.fields = try fields()
            record.opened = try provenance()
            record.closed = try provenance()
            for _ in 0..<(try count()) {
                let text = try string()
                guard let provenance = try provenance() else { throw Self.malformed }
                record.notes.append(CaseRecord.Note(text: text, provenance: provenance))
            }
            for _ in 0..<(try count()) {
                let other = try string()
                let relation = try optional()
                guard let provenance = try provenance() else { throw Self.malformed }
                record.links.append(CaseRecord.Link(otherCase: other, relation: relation, provenance: provenance))
            }
            record.lastOccurredAt = try signed()
            record.ignoredEvents = try integer()
            for _ in 0..<(try count()) { record.regionsNamed.insert(try string()) }
            fold.record = .case(record)
        case .meeting(var record):
            record.fields = try fields()
            record.scheduled = try provenance()
            for _ in 0..<(try count()) {
                let key = try string()
                record.attendees[key] = MeetingRecord.Attendee(name: try string(), role: try optional(), organisation: try optional())
            }
            for _ in 0..<(try count()) {
                let title = try string()
                guard let provenance = try provenance() else { throw Self.malformed }
                record.agenda.append(MeetingRecord.AgendaItem(title: title, provenance: provenance))
            }
            for _ in 0..<(try count()) {
                let key = try string()
                let id = try string()
                let proposedBy = try optional()
                guard let provenance = try provenance() else { throw Self.malformed }
                record.decisions[key] = MeetingRecord.Decision(id: id, proposedBy: proposedBy, provenance: provenance)
            }
            record.ignoredEvents = try integer()
            fold.record = .meeting(record)
        case .action(var record):
            record.fields = try fields()
            record.raised = try provenance()
            record.finished = try provenance()
            for _ in 0..<(try count()) {
                let note = try string()
                guard let provenance = try provenance() else { throw Self.malformed }
                record.progress.append(ActionRecord.Progress(note: note, provenance: provenance))
            }
            record.ignoredEvents = try integer()
            for _ in 0..<(try count()) { record.linksNamed.insert(ActionRecord.Link(decision: try optional(), case: try optional())) }
            fold.record = .action(record)
        }
    }
}
