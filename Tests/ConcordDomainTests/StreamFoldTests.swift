import ConcordCore
import ConcordDomain
import Testing

/// The kept fold state: extending it with events that sort after its tail is the fold of all
/// the events, and its bytes decode to the same state (or refuse).
struct StreamFoldTests {
    /// Three nodes editing a case, a meeting and an action, partly apart, so that the streams
    /// hold concurrent writes (conflicts), notes, links, attendees, decisions and progress.
    static func busyStreams() throws -> (events: [Event], streams: [StreamID]) {
        let caseStream = try StreamKind.case.stream("WY-2016-0012")
        let meeting = try StreamKind.meeting.stream("NATN-2016-03")
        let action = try StreamKind.action.stream("NATN-2016-03-A1")
        var a = TestNode()
        var b = TestNode(wall: 1_457_519_400_000 + 500)
        var c = TestNode(wall: 1_457_519_400_000 + 900)
        try a.record(caseStream, .caseOpened(reference: "WY-2016-0012", title: "Car wash", region: "West Yorkshire", category: "labour exploitation"))
        try a.record(meeting, .meetingScheduled(title: "National", at: 1_457_517_600_000, location: "Leeds", host: "NATN"))
        try a.record(action, .actionRaised(title: "Visit", owner: "DS Patel", due: "2016-04-01", decisionID: nil, caseID: "WY-2016-0012"))
        b.receive(a.held)
        c.receive(a.held)
        for round in 0..<6 {
            try a.record(caseStream, .caseNoteAdded(note: "a note \(round)"))
            try b.record(caseStream, .caseStatusChanged(status: round.isMultiple(of: 2) ? .referred : .charged))
            try c.record(caseStream, .caseOwnerAssigned(owner: "owner \(round)"))
            try b.record(caseStream, .caseLinked(otherCase: "GM-\(round % 2)", relation: "same premises"))
            try a.record(meeting, .meetingAttendeeRecorded(name: "Person \(round)", role: "chair", organisation: nil))
            try b.record(meeting, .meetingAgendaItemAdded(title: "Item \(round)"))
            try c.record(meeting, .meetingDecisionRecorded(decisionID: "D\(round)", text: "Decide \(round)", proposedBy: "Person \(round)"))
            try a.record(action, .actionProgressNoted(note: "step \(round)"))
            try c.record(action, .actionDueChanged(due: "2016-05-0\(round + 1)"))
            if round.isMultiple(of: 2) {
                a.receive(b.held + c.held)
                b.receive(a.held)
                c.receive(a.held)
            }
        }
        a.receive(b.held + c.held)
        return (a.held, [caseStream, meeting, action])
    }

    @Test func extendingTheKeptStateEqualsFoldingEverything() throws {
        let (events, streams) = try Self.busyStreams()
        for stream in streams {
            let ordered = events.filter { $0.stream == stream }.sorted(by: Event.projectionOrder)
            let whole = try #require(StreamFolder.foldState(stream, events: ordered))
            #expect(whole.record == StreamFolder.fold(stream, events: ordered))
            // Cut anywhere: the state of the first part, extended with the rest, is the whole.
            for cut in 0...ordered.count {
                var fold = try #require(StreamFolder.foldState(stream, events: Array(ordered[..<cut])))
                for event in ordered[cut...] {
                    #expect(fold.canExtend(with: event))
                    fold.add(event)
                }
                #expect(fold == whole, "\(stream) cut at \(cut)")
            }
        }
    }

    @Test func anEventSortingBeforeTheTailCannotExtendIt() throws {
        let (events, streams) = try Self.busyStreams()
        let ordered = events.filter { $0.stream == streams[0] }.sorted(by: Event.projectionOrder)
        let fold = try #require(StreamFolder.foldState(streams[0], events: Array(ordered.dropFirst(3).prefix(8))))
        #expect(!fold.canExtend(with: ordered[1]))
        #expect(!fold.canExtend(with: ordered[5]))
        #expect(fold.canExtend(with: ordered[11]))
        var withheld = ordered[12]
        withheld.disclosure = .withheld
        #expect(!fold.canExtend(with: withheld))
    }

    @Test func theBytesDecodeToTheSameStateAndAreTheSameEachTime() throws {
        let (events, streams) = try Self.busyStreams()
        for stream in streams {
            let fold = try #require(StreamFolder.foldState(stream, events: events.filter { $0.stream == stream }))
            let bytes = fold.encoded()
            #expect(try StreamFold(decoding: bytes, stream: stream) == fold)
            // Folded again from the events in another order: the same bytes.
            var generator = SeededRandom(seed: 7)
            let again = try #require(StreamFolder.foldState(stream, events: events.filter { $0.stream == stream }.shuffled(using: &generator)))
            #expect(again.encoded() == bytes)
            // A state is only read back as the stream it was written for.
            #expect(throws: (any Error).self) { try StreamFold(decoding: bytes, stream: streams[(streams.firstIndex(of: stream)! + 1) % 3]) }
        }
        let empty = try #require(StreamFold(stream: streams[0]))
        #expect(try StreamFold(decoding: empty.encoded(), stream: streams[0]) == empty)
    }

    @Test func damagedBytesAreRefusedNotTrusted() throws {
        let (events, streams) = try Self.busyStreams()
        let fold = try #require(StreamFolder.foldState(streams[1], events: events.filter { $0.stream == streams[1] }))
        let bytes = fold.encoded()
        // Every truncation, and bytes added at the end, are refused.
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self) { try StreamFold(decoding: Array(bytes[..<length]), stream: streams[1]) }
        }
        #expect(throws: (any Error).self) { try StreamFold(decoding: bytes + [0], stream: streams[1]) }
        // A count or length at the edge of its range (2^64 - 1 as a varint) is refused too.
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(throws: (any Error).self) { try StreamFold(decoding: [1, 1] + huge, stream: streams[1]) }
        #expect(throws: (any Error).self) { try StreamFold(decoding: [1, 1, 0] + huge, stream: streams[1]) }
        // Random damage decodes to an error or to some state, never a crash.
        var generator = SeededRandom(seed: 99)
        for _ in 0..<2000 {
            var damaged = bytes
            damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = try? StreamFold(decoding: damaged, stream: streams[1])
        }
    }
}
