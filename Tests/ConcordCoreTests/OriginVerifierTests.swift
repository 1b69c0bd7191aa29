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

/// Erasures are judged from the log alone: an erased opening needs a held erasure of its origin
/// naming it, and a held erasure's targets must be erased (docs/privacy.md).
struct ErasureAuditTests {
    /// Events 1…5, with event 5 an erasure of 2 and 3, applied as a store applies it.
    func erasedChain(applying targets: [UInt64] = [2, 3]) throws -> ChainFixture {
        var fixture = try ChainFixture(count: 5) { index, origin in
            index == 5 ? try Erasure(targets: [2, 3].map { EventID(origin: origin, seq: $0) }, reason: "retention review").draft(actor: "dpo", occurredAt: 0, origin: origin) : nil
        }
        for seq in targets { fixture.events[Int(seq) - 1].event.withholdOpening(as: .erased) }
        return fixture
    }

    @Test func anErasureAppliedToEveryEventItNamesVerifies() throws {
        #expect(try erasedChain().verify().isEmpty)
    }

    @Test func anOpeningBlankedWithoutASignedErasureIsAFault() throws {
        // Event 4 blanked behind the log's back, as an insider with sqlite3 would: its hash and
        // the chain still verify (they cover the commitment, not the opening).
        var fixture = try erasedChain()
        fixture.events[3].event.withholdOpening(as: .erased)
        let faults = fixture.verify()
        #expect(faults.map(\.kind) == [.erasedWithoutErasure])
        #expect(faults.first?.seq == 4)
        // With no erasure at all in the log, likewise.
        var plain = try ChainFixture(events: 3)
        plain.events[0].event.withholdOpening(as: .erased)
        #expect(plain.verify().map { "\($0.seq) \($0.kind.rawValue)" } == ["1 erased-without-erasure"])
    }

    @Test func anErasureThatNamesAnEventStillOpenIsAFault() throws {
        let faults = try erasedChain(applying: [2]).verify()
        #expect(faults.map { "\($0.seq) \($0.kind.rawValue)" } == ["3 erasure-not-applied"])
        // A held stub (withheld, not erased) must be erased too: every node applies an erasure to
        // what it holds of the event.
        var withheld = try erasedChain(applying: [2])
        withheld.events[2].event.withholdOpening(as: .withheld)
        #expect(withheld.verify().map { "\($0.seq) \($0.kind.rawValue)" } == ["3 erasure-not-applied"])
    }

    @Test func anErasedErasureOrFormatOneEventIsAFault() throws {
        var fixture = try erasedChain()
        // The erasure's own opening, destroyed: no erasure may destroy it.
        fixture.events[4].event.withholdOpening(as: .erased)
        let kinds = fixture.verify().map { "\($0.seq) \($0.kind.rawValue)" }
        #expect(kinds.contains("5 erased-without-erasure"))
        // Without its opening the erasure names nothing, so 2 and 3 are named by none.
        #expect(kinds.contains("2 erased-without-erasure") && kinds.contains("3 erased-without-erasure"))
    }

    @Test func aForgedSeqDoesNotGrowTheVerifiersMemory() throws {
        var fixture = try ChainFixture(events: 2)
        fixture.events[1].event.id = EventID(origin: fixture.key.origin, seq: UInt64(Int64.max))
        // Faults (a gap, a broken hash), and no attempt to keep a bit at seq 2^63-1.
        #expect(!fixture.verify().isEmpty)
    }
}
