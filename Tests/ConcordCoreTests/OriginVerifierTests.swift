import ConcordCore
import Testing

struct OriginVerifierTests {
    @Test func anIntactChainHasNoFaults() throws {
        let fixture = try ChainFixture(events: 20, sealEvery: 7)
        #expect(fixture.verify().isEmpty)
    }

    @Test func aChangedPayloadIsAHashMismatchAtThatSeq() throws {
        let fixture = try ChainFixture(events: 5)
        var events = fixture.events
        events[2].event.payload = #"{"note":"rewritten"}"#
        let faults = fixture.verify(events: events)
        #expect(faults.first?.kind == .hashMismatch)
        #expect(faults.first?.seq == 3)
    }

    @Test func aRehashedEventBreaksTheChainOrItsSeal() throws {
        let fixture = try ChainFixture(events: 5)
        var events = fixture.events
        events[2].event.payload = #"{"note":"rewritten"}"#
        events[2].event.commitment = events[2].event.computeCommitment()
        events[2].event.hash = events[2].event.computeHash()
        let kinds = fixture.verify(events: events).map { "\($0.seq) \($0.kind.rawValue)" }
        #expect(kinds.contains("4 chain-broken"))
        #expect(kinds.contains("3 seal-mismatch"))
    }

    @Test func aDeletedEventIsMissing() throws {
        let fixture = try ChainFixture(events: 5)
        var events = fixture.events
        events.remove(at: 1)
        let faults = fixture.verify(events: events)
        #expect(faults.first?.kind == .missingEvent)
        #expect(faults.first?.seq == 2)
    }

    @Test func swappedPositionsAreOutOfOrder() throws {
        let fixture = try ChainFixture(events: 5)
        var events = fixture.events
        let position = events[1].position
        events[1].position = events[2].position
        events[2].position = position
        let faults = fixture.verify(events: events)
        #expect(faults.map(\.kind) == [.outOfOrder])
        #expect(faults.first?.seq == 3)
    }

    @Test func aReplacedSignatureIsBad() throws {
        let fixture = try ChainFixture(events: 4)
        var seals = fixture.seals
        seals[1].signature = NodeKey().sign(seals[1].signedBytes)
        let faults = fixture.verify(seals: seals)
        #expect(faults.map(\.kind) == [.badSignature])
        #expect(faults.first?.seq == 2)
    }

    @Test func aTruncatedTailIsCaughtByTheSealBeyondIt() throws {
        let fixture = try ChainFixture(events: 6)
        let faults = fixture.verify(events: Array(fixture.events.prefix(4)))
        #expect(faults.contains { $0.kind == .truncated && $0.seq == 5 })
    }

    @Test func eventsAfterTheLastSealAreUnsealed() throws {
        let fixture = try ChainFixture(events: 6, sealEvery: 4)
        let faults = fixture.verify(seals: [fixture.seals[0]])
        #expect(faults.map(\.kind) == [.unsealed])
        #expect(faults.first?.seq == 5)
    }

    @Test func aKeyThatDoesNotHashToTheOriginIsRefused() throws {
        let fixture = try ChainFixture(events: 2)
        let impostor = OriginKey(origin: fixture.key.origin, publicKey: NodeKey().publicKey)
        let kinds = Set(fixture.verify(key: impostor).map(\.kind))
        #expect(kinds.contains(.keyMismatch))
        #expect(kinds.contains(.badSignature))
    }
}
