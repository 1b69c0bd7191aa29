import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Testing

/// A stream's heads (the events no other event of the stream names yet) decide what the next
/// local event names in `prev`, which is how the domain tells concurrent writes from later ones.
struct StreamHeadTests {
    let directory: TemporaryDirectory
    let a: SQLiteEventStore
    let b: SQLiteEventStore
    let c: SQLiteEventStore

    init() throws {
        directory = try TemporaryDirectory("heads")
        a = try StoreFixtures.createStore(in: directory, name: "a.sqlite", node: "a")
        b = try StoreFixtures.createStore(in: directory, name: "b.sqlite", node: "b")
        c = try StoreFixtures.createStore(in: directory, name: "c.sqlite", node: "c")
    }

    func note() throws -> EventDraft { try StoreFixtures.draft("case:WY-1") }

    /// `b` learns `a`'s event and succeeds it; `c` then receives `b`'s event before `a`'s.
    func successorArrivesFirst() async throws -> (first: Event, second: Event) {
        let first = try await a.append([note()]).events[0].event
        try await b.ingest(a.missingBatch(have: VersionVector(), maxEvents: 100).batch)
        let second = try await b.append([note()]).events[0].event
        #expect(second.prev == [first.id])
        var holdsFirst = VersionVector()
        holdsFirst[first.origin] = first.seq
        try await c.ingest(b.missingBatch(have: holdsFirst, maxEvents: 100).batch)
        return (first, second)
    }

    @Test func anEventArrivingAfterItsSuccessorDoesNotBecomeAHead() async throws {
        let (_, second) = try await successorArrivesFirst()
        try await c.ingest(a.missingBatch(have: VersionVector(), maxEvents: 100).batch)
        let next = try await c.append([note()]).events[0].event
        #expect(next.prev == [second.id])
    }

    @Test func concurrentEventsAreBothHeadsUntilALocalEventNamesThem() async throws {
        let first = try await a.append([note()]).events[0].event
        let other = try await b.append([note()]).events[0].event
        try await c.ingest(a.missingBatch(have: VersionVector(), maxEvents: 100).batch)
        try await c.ingest(b.missingBatch(have: VersionVector(), maxEvents: 100).batch)
        let next = try await c.append([note()]).events[0].event
        #expect(next.prev == [first.id, other.id].sorted { $0.description < $1.description })
        let after = try await c.append([note()]).events[0].event
        #expect(after.prev == [next.id])
    }

    @Test func theMigrationFindsParentsNamedButNotYetHeld() async throws {
        let (first, second) = try await successorArrivesFirst()
        // Undo migration 0004 on c, as in a store written before it, then reopen to run it again.
        try c.withConnection("undo 0004") { state in
            try state.connection.execute("DROP TABLE awaited_parents; DELETE FROM schema_migrations WHERE name = '0004-awaited-parents'")
        }
        let reopened = try SQLiteEventStore.open(at: directory.file("c.sqlite"), logger: StoreFixtures.quietLogger)
        let awaited = try reopened.withConnection("read") { state in
            try state.connection.scalarInt("SELECT count(*) FROM awaited_parents WHERE origin = ? AND seq = ?", [.text(first.origin.hex), .integer(Int64(first.seq))])
        }
        #expect(awaited == 1)
        try await reopened.ingest(a.missingBatch(have: VersionVector(), maxEvents: 100).batch)
        await #expect(try reopened.append([note()]).events[0].event.prev == [second.id])
    }
}
