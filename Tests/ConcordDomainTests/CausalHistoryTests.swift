import ConcordCore
import ConcordDomain
import Testing

/// Which events of a stream had seen which, from `prev` links, as folds use it to tell a
/// concurrent edit (a conflict) from a later one.
struct CausalHistoryTests {
    let stream = try! StreamID("case:WY-2016-0012")

    func history(_ events: [Event]) -> CausalHistory {
        var history = CausalHistory()
        for event in events.sorted(by: Event.projectionOrder) { history.add(event) }
        return history
    }

    @Test func anOriginsOwnEarlierEventsAlwaysCameBefore() throws {
        var a = TestNode()
        let first = try a.record(stream, .caseNoteAdded(note: "one"))
        let second = try a.record(stream, .caseNoteAdded(note: "two"))
        let causal = history(a.held)
        #expect(causal.happenedBefore(first.id, second.id))
        #expect(!causal.happenedBefore(second.id, first.id))
    }

    @Test func editsMadeApartAreConcurrentUntilAMergeSeesBoth() throws {
        var a = TestNode(), b = TestNode()
        let opened = try a.record(stream, .caseOpened(reference: "WY-2016-0012", title: "t", region: "West Yorkshire", category: nil))
        b.receive(a.held)
        let fromA = try a.record(stream, .caseStatusChanged(status: .referred))
        let fromB = try b.record(stream, .caseStatusChanged(status: .charged))
        a.receive(b.held)
        let merge = try a.record(stream, .caseStatusChanged(status: .convicted))
        let causal = history(a.held)

        #expect(causal.happenedBefore(opened.id, fromB.id))
        #expect(!causal.happenedBefore(fromA.id, fromB.id))
        #expect(!causal.happenedBefore(fromB.id, fromA.id))
        #expect(causal.happenedBefore(fromA.id, merge.id))
        #expect(causal.happenedBefore(fromB.id, merge.id))
        #expect(!causal.happenedBefore(merge.id, fromB.id))
    }

    @Test func ancestryIsTransitiveAcrossOrigins() throws {
        var a = TestNode(), b = TestNode(), c = TestNode()
        let fromA = try a.record(stream, .caseNoteAdded(note: "a"))
        b.receive(a.held)
        let fromB = try b.record(stream, .caseNoteAdded(note: "b"))
        c.receive(b.held)
        let fromC = try c.record(stream, .caseNoteAdded(note: "c"))
        let causal = history(c.held)
        #expect(causal.happenedBefore(fromA.id, fromC.id))
        #expect(causal.happenedBefore(fromB.id, fromC.id))
        #expect(!causal.happenedBefore(fromC.id, fromA.id))
    }

    @Test func aParentNotHeldStillCountsWithItsOriginsEarlierEvents() throws {
        var a = TestNode(), b = TestNode()
        let early = try a.record(stream, .caseNoteAdded(note: "early"))
        let late = try a.record(stream, .caseNoteAdded(note: "late"))
        b.receive(a.held)
        let fromB = try b.record(stream, .caseNoteAdded(note: "b saw both"))
        // This node holds a's early event and b's, but not a's late one (b's direct parent).
        let causal = history([early, fromB])
        #expect(fromB.prev == [late.id])
        #expect(causal.happenedBefore(late.id, fromB.id))
        #expect(causal.happenedBefore(early.id, fromB.id))
    }
}
