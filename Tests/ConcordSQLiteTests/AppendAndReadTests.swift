import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Testing

struct AppendAndReadTests {
    @Test func prevListsReadBackAsWrittenAndDamagedOnesReadLeniently() throws {
        let a = try OriginID(hex: String(repeating: "a", count: 32)), b = try OriginID(hex: String(repeating: "b", count: 32))
        let ids = [EventID(origin: a, seq: 7), EventID(origin: b, seq: 12)]
        #expect(SQLiteEventStore.decodePrev(SQLiteEventStore.encodePrev(ids)) == ids)
        #expect(SQLiteEventStore.decodePrev("").isEmpty)
        // Damage reads as something verification then reports, never as a crash.
        #expect(SQLiteEventStore.decodePrev("\(a.hex):7  \(b.hex):12 ") == ids)
        #expect(SQLiteEventStore.decodePrev("junk").map(\.seq) == [0])
        #expect(SQLiteEventStore.decodePrev("x:y").map(\.description) == ["x:0"])
    }

    @Test func anAppendedEventReadsBackExactly() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let draft = try EventDraft(
            stream: StreamID("case:WY-2016-0012"), type: EventType("case.opened"), schemaVersion: 2,
            data: JSONValue(parsing: #"{"title":"Car wash labour","region":"West Yorkshire","victims":3}"#),
            actor: "analyst@wy", occurredAt: try Timestamp.parse("2016-03-01T09:00:00Z"),
            causationID: "cmd-1", correlationID: "corr-7"
        )
        let result = try store.append([draft])
        let written = try #require(result.events.first)
        let read = try store.readStream(draft.stream, afterVersion: 0, limit: 10)
        #expect(read == [written])
        let event = written.event
        #expect(event.origin == (try store.origin))
        #expect(event.seq == 1)
        #expect(event.schemaVersion == 2)
        #expect(event.payload == #"{"region":"West Yorkshire","title":"Car wash labour","victims":3}"#)
        #expect(event.actor == "analyst@wy")
        #expect(event.occurredAt == 1_456_822_800_000)
        #expect(event.causationID == "cmd-1" && event.correlationID == "corr-7")
        #expect(event.prev.isEmpty)
        #expect(written.streamVersion == 1)
        // The store reopened from disk holds the same event.
        let reopened = try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger)
        #expect(try reopened.readLog(afterPosition: 0, limit: 10) == [written])
    }

    @Test func eventsOfAStreamPointAtThePreviousHead() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let first = try store.append([StoreFixtures.draft()]).events[0].event
        let second = try store.append([StoreFixtures.draft()]).events[0].event
        #expect(second.prev == [first.id])
        #expect(second.hlc > first.hlc)
    }

    @Test func aBatchIsOneCommitWithOneSeal() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let drafts = try (1...50).map { try StoreFixtures.draft("case:GM-\($0 % 4)") }
        let result = try store.append(drafts)
        #expect(result.events.map(\.event.seq) == Array(1...50))
        #expect(try store.seals(of: store.origin).map(\.seq) == [50])
        #expect(result.seal.seq == 50)
        #expect(try store.streamVersion(of: StreamID("case:GM-1")) == 13)
    }

    @Test func aLongCommitIsSealedEveryThousandEventsAndAtItsEnd() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try store.append((1...2500).map { try StoreFixtures.draft("case:bulk-\($0 % 50)") })
        #expect(try store.seals(of: store.origin).map(\.seq) == [1000, 2000, 2500])
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func readsByStreamOriginAndPositionPage() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        for index in 1...30 { try store.append([StoreFixtures.draft(index % 2 == 0 ? "case:even" : "case:odd")]) }
        let even = try store.readStream(StreamID("case:even"), afterVersion: 5, limit: 4)
        #expect(even.map(\.streamVersion) == [6, 7, 8, 9])
        #expect(even.allSatisfy { $0.event.stream.rawValue == "case:even" })
        let byOrigin = try store.readOrigin(store.origin, afterSeq: 25, limit: 100)
        #expect(byOrigin.map(\.event.seq) == [26, 27, 28, 29, 30])
        let page = try store.readLog(afterPosition: 10, limit: 3)
        #expect(page.map(\.position) == [11, 12, 13])
        #expect(try store.readLogTail(limit: 2).map(\.event.seq) == [29, 30])
    }

    @Test func anEmptyAppendIsRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let error = #expect(throws: ConcordError.self) { try store.append([]) }
        #expect(error?.code == .invalidArgument)
    }
}
