import ConcordCore

/// An in-memory origin log built with the same rules a store uses.
struct ChainFixture {
    let key = NodeKey()
    var events: [StoredEvent] = []
    var seals: [Seal] = []

    init(events count: Int, sealEvery: Int = 1) throws {
        try self.init(count: count, sealEvery: sealEvery) { _, _ in nil }
    }

    /// A chain whose event `index` (1-based) is `draft(index, origin)` where that gives one, else
    /// a case note.
    init(count: Int, sealEvery: Int = 1, draft: (Int, OriginID) throws -> EventDraft?) throws {
        var chain = OriginChain(key: key, lastSeq: 0, lastHash: .genesis)
        var clock = HybridLogicalClock()
        for index in 1...count {
            let draft = try draft(index, key.origin) ?? EventDraft(
                stream: StreamID("case:WY-2016-\(index % 3)"), type: EventType("case.note-added"),
                data: .object(["note": .string("note \(index)")]), actor: "tester", occurredAt: 1_457_519_400_000
            )
            let event = chain.append(draft, hlc: try clock.tick(now: 1_700_000_000_000), recordedAt: 1_700_000_000_000, prev: [])
            events.append(StoredEvent(event: event, position: Int64(index), streamVersion: 1))
            if index % sealEvery == 0 || index == count { seals.append(chain.sealHead()) }
        }
    }

    var originKey: OriginKey { key.originKey }

    func verify(events: [StoredEvent]? = nil, seals: [Seal]? = nil, key: OriginKey? = nil) -> [VerificationFault] {
        var verifier = OriginVerifier(origin: self.key.origin, key: key ?? originKey, seals: seals ?? self.seals)
        for event in events ?? self.events { verifier.check(event) }
        return verifier.finish()
    }
}
