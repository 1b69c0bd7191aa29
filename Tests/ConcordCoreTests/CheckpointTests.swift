@testable import ConcordCore
import Testing

/// Checkpoints: what is signed, what a reader refuses, and what `CheckpointAudit` concludes.
struct CheckpointTests {
    let key = NodeKey()
    let other = OriginID(publicKey: NodeKey().publicKey)

    func hash(_ byte: UInt8) -> EventHash { EventHash(bytes: [UInt8](repeating: byte, count: 32)) }

    func checkpoint(heads: [Checkpoint.Head], number: UInt64 = 1) -> Checkpoint {
        Checkpoint.sign(key: key, node: "hub", number: number, takenAt: 1_000, heads: heads)
    }

    @Test func aCheckpointReadsBackFromItsLineAndVerifies() throws {
        let signed = checkpoint(heads: [Checkpoint.Head(origin: other, seq: UInt64(Int64.max), hash: hash(1)), Checkpoint.Head(origin: key.origin, seq: 1, hash: hash(2))])
        let read = try Checkpoint(exchange: JSONValue(parsing: signed.exchangeJSON))
        #expect(read == signed)
        #expect(read.heads.map(\.origin) == [key.origin, other].sorted())
        try read.validate(key: key.originKey)
    }

    @Test func everySignedFieldIsCoveredByTheSignature() throws {
        let signed = checkpoint(heads: [Checkpoint.Head(origin: other, seq: 3, hash: hash(1))])
        var changes: [Checkpoint] = []
        var copy = signed; copy.node = "elsewhere"; changes.append(copy)
        copy = signed; copy.number = 2; changes.append(copy)
        copy = signed; copy.takenAt = 1_001; changes.append(copy)
        copy = signed; copy.heads[0].seq = 4; changes.append(copy)
        copy = signed; copy.heads[0].hash = hash(9); changes.append(copy)
        copy = signed; copy.heads = []; changes.append(copy)
        for changed in changes {
            #expect(throws: ConcordError.self) { try changed.validate(key: key.originKey) }
        }
        // Another key, even one whose origin is named as the signer, does not verify it.
        let thief = NodeKey()
        #expect(throws: ConcordError.self) { try signed.validate(key: OriginKey(origin: key.origin, publicKey: thief.publicKey)) }
    }

    @Test func linesOutsideTheRangesAreRefusedWhenRead() throws {
        let line = checkpoint(heads: [Checkpoint.Head(origin: other, seq: 3, hash: hash(1))]).exchangeJSON
        for bad in [
            line.replacingOccurrences(of: "\"number\":1", with: "\"number\":0"),
            line.replacingOccurrences(of: "\"number\":1", with: "\"number\":9223372036854775808"),
            line.replacingOccurrences(of: ",3,", with: ",0,"),
            line.replacingOccurrences(of: ",3,", with: ",-9223372036854775808,"),
            line.replacingOccurrences(of: "\"takenAt\":1000", with: "\"takenAt\":253402300800000"),
            line.replacingOccurrences(of: "\"heads\":[", with: "\"heads\":[[],"),
            // The node name at its edges: 257 bytes, a control character, empty (the schema's limits).
            line.replacingOccurrences(of: "\"node\":\"hub\"", with: "\"node\":\"" + String(repeating: "h", count: 257) + "\""),
            line.replacingOccurrences(of: "\"node\":\"hub\"", with: "\"node\":\"h\\u001bub\""),
            line.replacingOccurrences(of: "\"node\":\"hub\"", with: "\"node\":\"\""),
        ] {
            #expect(bad != line)
            #expect(throws: ConcordError.self, "\(bad)") { try Checkpoint(exchange: JSONValue(parsing: bad)) }
        }
        // A node name of 256 bytes reads (its signature is another matter).
        _ = try Checkpoint(exchange: JSONValue(parsing: line.replacingOccurrences(of: "\"node\":\"hub\"", with: "\"node\":\"" + String(repeating: "h", count: 256) + "\"")))
        // Correctly signed, and still refused: an origin twice, heads out of order, no head at
        // all, a number whose successor is out of range.
        func signed(_ heads: [Checkpoint.Head], number: UInt64 = 1) -> Checkpoint {
            let bytes = Checkpoint.signedBytes(signer: key.origin, node: "hub", number: number, takenAt: 0, heads: heads)
            return Checkpoint(signer: key.origin, node: "hub", number: number, takenAt: 0, heads: heads, signature: key.sign(bytes))
        }
        let (low, high) = key.origin < other ? (key.origin, other) : (other, key.origin)
        let cases: [(String, Checkpoint)] = [
            ("an origin twice", signed([Checkpoint.Head(origin: other, seq: 1, hash: hash(1)), Checkpoint.Head(origin: other, seq: 2, hash: hash(1))])),
            ("out of order", signed([Checkpoint.Head(origin: high, seq: 1, hash: hash(1)), Checkpoint.Head(origin: low, seq: 1, hash: hash(1))])),
            ("no head", signed([])),
            ("number 2^63 - 1", signed([Checkpoint.Head(origin: other, seq: 1, hash: hash(1))], number: UInt64(Int64.max))),
        ]
        for (name, checkpoint) in cases {
            #expect(checkpoint.signedBytes == Checkpoint.signedBytes(signer: key.origin, node: "hub", number: checkpoint.number, takenAt: 0, heads: checkpoint.heads))
            #expect(throws: ConcordError.self, "\(name)") { try checkpoint.validate(key: key.originKey) }
        }
        // In order, it verifies: the refusals above are the rules', not the signature's.
        try signed([Checkpoint.Head(origin: low, seq: 1, hash: hash(1)), Checkpoint.Head(origin: high, seq: 1, hash: hash(1))]).validate(key: key.originKey)
    }

    @Test func theAuditNamesACutTailAndAnotherHistoryOnceAnOrigin() throws {
        let checkpoints = [
            checkpoint(heads: [Checkpoint.Head(origin: other, seq: 5, hash: hash(5))], number: 1),
            checkpoint(heads: [Checkpoint.Head(origin: other, seq: 7, hash: hash(7))], number: 2),
        ]
        let keys = [key.origin: key.originKey]
        // Holds 1…4: a cut tail, named once, at the first missing seq, by the longest claim.
        let cut = CheckpointAudit.faults(of: checkpoints, keys: keys, held: VersionVector([other: 4])) { _, seq in hash(UInt8(seq)) }
        #expect(cut.map(\.kind) == [.tailCut])
        #expect(cut.first?.seq == 5)
        #expect(cut.first?.detail.contains("names seq 7") == true)
        // Holds 1…7 with another event at 5: another history.
        let forked = CheckpointAudit.faults(of: checkpoints, keys: keys, held: VersionVector([other: 7])) { _, seq in seq == 5 ? hash(50) : hash(UInt8(seq)) }
        #expect(forked.map(\.kind) == [.otherHistory])
        #expect(forked.first?.seq == 5)
        // The same history: nothing.
        #expect(CheckpointAudit.faults(of: checkpoints, keys: keys, held: VersionVector([other: 9])) { _, seq in hash(UInt8(seq)) }.isEmpty)
        // A signer whose key is not held: the checkpoint proves nothing and says so.
        #expect(CheckpointAudit.faults(of: checkpoints, keys: [:], held: VersionVector([other: 9])) { _, seq in hash(UInt8(seq)) }.map(\.kind) == [.badCheckpoint, .badCheckpoint])
    }
}
