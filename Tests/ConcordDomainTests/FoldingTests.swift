import ConcordCore
import ConcordDomain
import Testing

struct FoldingTests {
    let stream = try! StreamKind.case.stream("WY-2016-0012")

    /// Two nodes share an opened case, then each edits it while apart.
    func partitionedEdits(_ first: DomainEvent, _ second: DomainEvent) throws -> (TestNode, TestNode) {
        var a = TestNode()
        var b = TestNode(wall: 1_457_519_400_000 + 500)
        try a.record(stream, .caseOpened(reference: "WY-2016-0012", title: "Car wash", region: "West Yorkshire", category: nil))
        b.receive(a.held)
        try a.record(stream, first)
        try b.record(stream, second)
        a.receive(b.held)
        b.receive(a.held)
        return (a, b)
    }

    @Test func concurrentStatusChangesAreAConflictWithTheFurthestStatusShown() throws {
        let (a, b) = try partitionedEdits(.caseStatusChanged(status: .referred), .caseStatusChanged(status: .charged))
        let record = try #require(StreamFolder.fold(stream, events: a.held)?.caseRecord)
        #expect(record.status == .charged)
        #expect(record.conflicts.map(\.field) == ["status"])
        #expect(record.conflicts.first?.writes.map(\.value).sorted() == ["charged", "referred"])
        // The other node, folding the same events in its own arrival order, agrees exactly.
        #expect(StreamFolder.fold(stream, events: b.held) == StreamFolder.fold(stream, events: a.held))
    }

    @Test func aLaterEventThatHasSeenBothSettlesTheConflict() throws {
        var (a, _) = try partitionedEdits(.caseOwnerAssigned(owner: "DS Patel"), .caseOwnerAssigned(owner: "DC Jones"))
        #expect(StreamFolder.fold(stream, events: a.held)?.caseRecord?.conflicts.count == 1)
        try a.record(stream, .caseOwnerAssigned(owner: "DC Jones"))
        let record = try #require(StreamFolder.fold(stream, events: a.held)?.caseRecord)
        #expect(record.conflicts.isEmpty)
        #expect(record.owner == "DC Jones")
    }

    @Test func concurrentNotesMergeWithoutConflict() throws {
        let (a, _) = try partitionedEdits(.caseNoteAdded(note: "Victims interviewed"), .caseNoteAdded(note: "Premises visited"))
        let record = try #require(StreamFolder.fold(stream, events: a.held)?.caseRecord)
        #expect(Set(record.notes.map(\.text)) == ["Victims interviewed", "Premises visited"])
        #expect(record.conflicts.isEmpty)
    }

    @Test func sequentialEditsAreNotConflicts() throws {
        var node = TestNode()
        try node.record(stream, .caseOpened(reference: "R", title: "T", region: "R", category: nil))
        try node.record(stream, .caseStatusChanged(status: .charged))
        try node.record(stream, .caseStatusChanged(status: .referred))
        let record = try #require(StreamFolder.fold(stream, events: node.held)?.caseRecord)
        // A deliberate step back is the latest word, not a conflict.
        #expect(record.status == .referred)
        #expect(record.conflicts.isEmpty)
    }

    @Test func foldingIgnoresArrivalOrder() throws {
        var node = TestNode()
        try node.record(stream, .caseOpened(reference: "R", title: "T", region: "R", category: nil))
        for index in 0..<12 { try node.record(stream, .caseNoteAdded(note: "note \(index)")) }
        try node.record(stream, .caseOwnerAssigned(owner: "DS Patel"))
        var generator = SeededRandom(seed: 42)
        let expected = StreamFolder.fold(stream, events: node.held)
        for _ in 0..<20 {
            #expect(StreamFolder.fold(stream, events: node.held.shuffled(using: &generator)) == expected)
        }
    }

    @Test func unknownTypesAndMalformedDataAreSkippedAlike() throws {
        var node = TestNode()
        try node.record(stream, .caseOpened(reference: "R", title: "T", region: "R", category: nil))
        let draft = try EventDraft(stream: stream, type: EventType("case.photo-attached"), data: .object(["file": .string("x.jpg")]), actor: "a", occurredAt: 0)
        node.learn(node.chain.append(draft, hlc: try node.clock.tick(now: 2_000_000_000_000), recordedAt: 0, prev: []))
        let bad = try EventDraft(stream: stream, type: EventType("case.status-changed"), data: .object(["status": .string("arrested")]), actor: "a", occurredAt: 0)
        node.learn(node.chain.append(bad, hlc: try node.clock.tick(now: 2_000_000_000_001), recordedAt: 0, prev: []))
        let record = try #require(StreamFolder.fold(stream, events: node.held)?.caseRecord)
        #expect(record.status == .open)
        #expect(record.ignoredEvents == 2)
        #expect(StreamFolder.fold(try StreamID("minutes:2016-03"), events: node.held) == nil)
    }

    @Test func aVersionOneCaseOpenedIsUpcast() throws {
        let v1 = try JSONValue(parsing: #"{"reference":"WY-7","title":"Nail bar","region":"West Yorkshire","kind":"labour"}"#)
        let decoded = try DomainEvent.decode(type: "case.opened", schemaVersion: 1, data: v1)
        #expect(decoded == .caseOpened(reference: "WY-7", title: "Nail bar", region: "West Yorkshire", category: "labour exploitation"))
        #expect(DomainEvent.caseOpened(reference: "", title: "", region: "", category: nil).schemaVersion == 2)
        #expect(try DomainEvent.decode(type: "case.opened", schemaVersion: 3, data: v1) == nil)
    }
}
