import ConcordCore

/// The single-value fields of one record, each a `ConflictRegister`, with per-field winner rules.
public struct RecordFields: Sendable, Hashable {
    public private(set) var registers: [String: ConflictRegister] = [:]

    public init() {}

    init(registers: [String: ConflictRegister]) { self.registers = registers }

    mutating func write(_ field: String, _ value: String?, by event: EventID, history: CausalHistory) {
        guard let value else { return }
        registers[field, default: ConflictRegister()].write(value, by: event, history: history)
    }

    func value(_ field: String, winner rule: ([String]) -> String = ConflictRegister.smallest) -> String? {
        registers[field]?.value(winner: rule)
    }

    /// Every conflicted field, sorted by field name, with the value shown for it.
    func conflicts(rules: [String: @Sendable ([String]) -> String]) -> [FieldConflict] {
        registers.keys.sorted().compactMap { field in
            let register = registers[field]!
            return FieldConflict(field: field, register: register, chosen: register.value(winner: rules[field] ?? ConflictRegister.smallest))
        }
    }
}

/// Who wrote an event, when and where: what read models show beside each fact.
public struct Provenance: Sendable, Hashable {
    public var event: EventID
    public var occurredAt: Int64
    public var recordedAt: Int64
    public var actor: String

    public init(_ event: Event) {
        self.event = event.id
        self.occurredAt = event.occurredAt
        self.recordedAt = event.recordedAt
        self.actor = event.actor
    }

    init(event: EventID, occurredAt: Int64, recordedAt: Int64, actor: String) {
        self.event = event
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.actor = actor
    }
}
