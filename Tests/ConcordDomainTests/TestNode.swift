import ConcordCore
import ConcordDomain

/// A node in memory: writes domain events with real ids, clocks, `prev` heads and hashes, and
/// learns other nodes' events the way sync will deliver them.
struct TestNode {
    let key = NodeKey()
    var chain: OriginChain
    var clock = HybridLogicalClock()
    var heads: [StreamID: Set<EventID>] = [:]
    var wall: Int64
    var held: [Event] = []

    init(wall: Int64 = 1_457_519_400_000) {
        chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        self.wall = wall
    }

    @discardableResult
    mutating func record(_ stream: StreamID, _ event: DomainEvent, actor: String = "tester") throws -> Event {
        wall += 1000
        let draft = try EventDraft(stream: stream, type: EventType(event.typeName), schemaVersion: event.schemaVersion, data: event.data, actor: actor, occurredAt: wall)
        let written = chain.append(draft, hlc: try clock.tick(now: wall), recordedAt: wall, prev: Array(heads[stream] ?? []))
        learn(written)
        return written
    }

    mutating func learn(_ event: Event) {
        clock.observe(event.hlc)
        var streamHeads = heads[event.stream] ?? []
        streamHeads.subtract(event.prev)
        streamHeads.insert(event.id)
        heads[event.stream] = streamHeads
        held.append(event)
    }

    mutating func receive(_ events: [Event]) {
        for event in events where !held.contains(where: { $0.id == event.id }) { learn(event) }
    }
}

/// Lookups answered from a fixed set of facts.
struct FixedLookup: DomainLookup {
    var decisions: [String: String] = [:]
    var cases: Set<String> = []
    func meetingOfDecision(_ decisionID: String) async throws -> String? { decisions[decisionID] }
    func caseExists(_ caseID: String) async throws -> Bool { cases.contains(caseID) }
}

