import ConcordCore
import ConcordSyncProtocol
import ConcordTestSupport
import Testing

/// Signed checkpoints on every backend that keeps them, by the one engine (`Checkpoints`): what
/// a node signs and when, which a peer is sent, which `--seen-by` finds, and what `verify` makes
/// of them, the same on SQLite and PostgreSQL.
struct CheckpointConformanceTests {
    // The limit stops a read that goes round for ever (a duplicated row did); it is ten
    // minutes, not one, as a PostgreSQL test waits in the full suite while end-to-end tests
    // block both cooperative threads on their child processes (135 s was seen).
    @Test(.timeLimit(.minutes(10)), arguments: Backend.underTest.filter { $0 != .memory })
    func checkpointsAreSignedWhenTheHoldingsChangeFoundByNameAndChecked(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        west.append(stream: "case:C-1", type: "case.opened", payload: FoldStateConformanceTests.opened("C-1"))
        west.append(stream: "case:C-1", type: "case.note-added", payload: FoldStateConformanceTests.note("one"))
        west.seal()
        try await backend.withStore(named: "national-hub") { store in
            // Nothing held: nothing to sign.
            #expect(try await store.takeCheckpoint() == nil)
            #expect(try await store.checkpointNumbers() == VersionVector())
            _ = try await store.ingest(west.batch(), source: "import", policy: .allOrNothing)
            let first = try #require(try await store.takeCheckpoint())
            #expect(first.number == 1 && first.node == "national-hub")
            #expect(first.heads == [Checkpoint.Head(origin: west.origin, seq: 2, hash: try #require(try await store.eventHash(west.origin, seq: 2)))])
            // The same holdings: the same checkpoint stands, none is signed.
            #expect(try await store.takeCheckpoint() == first)
            west.append(stream: "case:C-2", type: "case.opened", payload: FoldStateConformanceTests.opened("C-2"))
            west.seal()
            _ = try await store.ingest(west.batch(), source: "import", policy: .allOrNothing)
            let second = try #require(try await store.takeCheckpoint())
            #expect(second.number == 2 && second.signer == first.signer && second.vector[west.origin] == 3 && second.takenAt >= first.takenAt)
            #expect(try await store.heldCheckpoints() == [first, second])
            #expect(try await store.checkpointNumbers() == VersionVector([first.signer: 2]))
            // What a peer is sent: those above the numbers it holds.
            #expect(try await store.heldCheckpoints(after: [:], limit: 10) == [first, second])
            #expect(try await store.heldCheckpoints(after: [first.signer: 1], limit: 10) == [second])
            #expect(try await store.heldCheckpoints(after: [first.signer: 2], limit: 10).isEmpty)
            #expect(try await store.heldCheckpoints(after: [:], limit: 1) == [first])
            // --seen-by: by the node's name, by its origin id's first digits, at or before a time.
            #expect(try await store.checkpoint(of: "national-hub", atOrBefore: .max) == second)
            #expect(try await store.checkpoint(of: String(first.signer.hex.prefix(8)), atOrBefore: .max) == second)
            #expect(try await store.checkpoint(of: "national-hub", atOrBefore: first.takenAt - 1) == nil)
            #expect(try await store.checkpoint(of: "nobody", atOrBefore: .max) == nil)
            #expect(try await store.checkpointSignerNames()[first.signer] == "national-hub")
            // verify: the checkpoints hold of this copy.
            #expect(try await Backend.checkpointFaults(store).isEmpty)
            // An insider's copy of a checkpoint's row under another number: reading them stops
            // with an error naming it (paging by the line's own number went round for ever).
            try await Backend.execute("INSERT INTO checkpoints SELECT signer, number + 1, node, taken_at, line, received_at FROM checkpoints WHERE number = 2", on: store)
            await #expect(throws: ConcordError.self) { try await store.heldCheckpoints(after: [:], limit: 100) }
            await #expect(throws: ConcordError.self) { try await Backend.checkpointFaults(store) }
        }
    }

    /// A checkpoint another node signed arrives with a sync and is kept only when it says
    /// something true of this store; an import keeps every claim, and verify then names a claim
    /// this copy cannot meet (a tail cut from it).
    @Test(arguments: Backend.underTest.filter { $0 != .memory })
    func checkpointsFromElsewhereAreKeptByTheRulesOfIngestAndCheckedByVerify(_ backend: Backend) async throws {
        var west = ForgedOrigin()
        west.append(stream: "case:C-1", type: "case.opened", payload: FoldStateConformanceTests.opened("C-1"))
        west.append(stream: "case:C-1", type: "case.note-added", payload: FoldStateConformanceTests.note("one"))
        west.seal()
        let regionKey = NodeKey()
        let holdsAll = Checkpoint.sign(key: regionKey, node: "west", number: 1, takenAt: 1_700_000_000_000, heads: [
            Checkpoint.Head(origin: west.origin, seq: 2, hash: west.events[1].hash),
        ])
        let holdsOne = Checkpoint.sign(key: regionKey, node: "west", number: 2, takenAt: 1_700_000_000_001, heads: [
            Checkpoint.Head(origin: west.origin, seq: 1, hash: west.events[0].hash),
        ])
        try await backend.withStore { store in
            _ = try await store.ingest(west.batch(), source: "import", policy: .allOrNothing)
            let batch = IngestBatch(keys: [regionKey.originKey], checkpoints: [holdsAll])
            // From a peer: kept, as this store holds exactly what it names.
            #expect(try await store.ingest(batch, from: "west").checkpointsStored == 1)
            #expect(try await store.checkpoint(of: "west", atOrBefore: .max) == holdsAll)
            #expect(try await Backend.checkpointFaults(store).isEmpty)
            // A claim of another hash at a held seq is not kept from a peer, and named by verify
            // when it comes in a file.
            var forged = holdsOne
            forged.heads = [Checkpoint.Head(origin: west.origin, seq: 1, hash: west.events[1].hash)]
            forged = Checkpoint.sign(key: regionKey, node: "west", number: 2, takenAt: forged.takenAt, heads: forged.heads)
            #expect(try await store.ingest(IngestBatch(keys: [regionKey.originKey], checkpoints: [forged]), from: "west").checkpointsStored == 0)
            #expect(try await store.ingest(IngestBatch(keys: [regionKey.originKey], checkpoints: [forged]), source: "import", policy: .allOrNothing).checkpointsStored == 1)
            let faults = try await Backend.checkpointFaults(store)
            #expect(faults.map { "\($0.origin):\($0.seq) \($0.kind.rawValue)" } == ["\(west.origin):1 other-history"], "\(faults)")
        }
    }
}
