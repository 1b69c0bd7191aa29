import ConcordCore
import Testing

struct EventHashingTests {
    @Test func originIsDerivedFromThePublicKey() {
        let key = NodeKey()
        #expect(key.origin == OriginID(publicKey: key.publicKey))
        #expect(key.origin.hex.count == 32)
        #expect(NodeKey().origin != key.origin)
    }

    @Test func eachEventLinksToThePreviousHash() throws {
        let fixture = try ChainFixture(events: 5)
        #expect(fixture.events[0].event.prevHash == .genesis)
        for (previous, next) in zip(fixture.events, fixture.events.dropFirst()) {
            #expect(next.event.prevHash == previous.event.hash)
            #expect(next.event.seq == previous.event.seq + 1)
        }
        for stored in fixture.events { #expect(stored.event.computeHash() == stored.event.hash) }
    }

    @Test func hashingIsDeterministicAndCoversEveryField() throws {
        let event = try ChainFixture(events: 1).events[0].event
        #expect(event.computeHash() == event.computeHash())
        var variants: [Event] = []
        func variant(_ change: (inout Event) throws -> Void) rethrows { var copy = event; try change(&copy); variants.append(copy) }
        try variant { $0.stream = try StreamID("case:other") }
        try variant { $0.type = try EventType("case.other") }
        variant { $0.schemaVersion = 2 }
        variant { $0.hlc.counter += 1 }
        variant { $0.recordedAt += 1 }
        variant { $0.occurredAt += 1 }
        variant { $0.actor = "someone else" }
        variant { $0.causationID = "c" }
        variant { $0.correlationID = "c" }
        variant { $0.prev = [EventID(origin: $0.origin, seq: 9)] }
        variant { $0.payload = #"{"note":"seen!"}"# }
        variant { $0.prevHash = EventHash.sha256([1]) }
        variant { $0.id.seq = 2 }
        // Format 2: the opening's fields are covered through the commitment.
        #expect(event.commitment != nil)
        let hashes = Set(variants.map { variant in
            var committed = variant
            committed.commitment = committed.computeCommitment()
            return committed.computeHash()
        } + [event.hash])
        #expect(hashes.count == variants.count + 1)
        // An opening changed without its commitment no longer matches it.
        for changed in variants where changed.openingBytes != event.openingBytes {
            #expect(!changed.openingMatchesCommitment)
        }
    }

    @Test func fieldBoundariesAreUnambiguous() throws {
        // Moving a character from one field to the next must change the hash (length prefixes).
        var first = try ChainFixture(events: 1).events[0].event
        var second = first
        first.actor = "ab"
        first.causationID = "c"
        second.actor = "a"
        second.causationID = "bc"
        #expect(first.computeCommitment() != second.computeCommitment())
    }

    @Test func aSealVerifiesOnlyWithItsOriginsKey() throws {
        let fixture = try ChainFixture(events: 3)
        let seal = try #require(fixture.seals.last)
        #expect(fixture.originKey.verify(seal))
        let stranger = NodeKey()
        let forged = Seal(origin: seal.origin, seq: seal.seq, hash: seal.hash, signature: stranger.sign(seal.signedBytes))
        #expect(!fixture.originKey.verify(forged))
        var moved = seal
        moved.seq += 1
        #expect(!fixture.originKey.verify(moved))
    }
}
