import ConcordCore
import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// Invariant 6: an append acknowledged to the caller survives the process being killed.
struct DurabilityTests {
    @Test(arguments: [SQLiteEventStore.Options.Durability.full, .normal])
    func acknowledgedAppendsSurviveSIGKILL(durability: SQLiteEventStore.Options.Durability) throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("kill")
        let store = directory.file("node.sqlite")
        #expect(try concord.run(["init", "--node", "crash", "--store", store]).status == 0)

        let (process, output) = try concord.start(["debug", "append-loop", "--store", store, "--durability", durability.rawValue, "--count", "100000"])
        // Read acknowledgements until a seeded-random count is reached, then kill without warning.
        var generator = SystemRandomNumberGenerator()
        let killAfter = Int.random(in: 50...300, using: &generator)
        var buffered = ""
        var acknowledged: [UInt64] = []
        while acknowledged.count < killAfter {
            let chunk = output.availableData
            if chunk.isEmpty { break }  // the child ended early: the expectations below fail
            buffered += String(decoding: chunk, as: UTF8.self)
            while let newline = buffered.firstIndex(of: "\n") {
                let line = buffered[..<newline]
                buffered = String(buffered[buffered.index(after: newline)...])
                if line.hasPrefix("ack "), let seq = UInt64(line.dropFirst(4)) { acknowledged.append(seq) }
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(acknowledged.count >= killAfter)

        let reopened = try SQLiteEventStore.open(at: store, logger: StoreFixtures.quietLogger)
        let origin = try reopened.origin
        let stored = try reopened.readOrigin(origin, afterSeq: 0, limit: 1_000_000).map(\.event.seq)
        // Every acknowledged event is there exactly once; at most the one in flight is extra.
        #expect(Array(stored.prefix(acknowledged.count)) == acknowledged)
        #expect(stored.count <= acknowledged.count + 1)
        #expect(stored == Array(1...UInt64(stored.count)))
        #expect(try reopened.integrityCheck() == "ok")
        #expect(try LogVerifier.verify(reopened).isValid)
        // And the node goes on writing as the same origin.
        let next = try reopened.append([StoreFixtures.draft()]).events[0].event
        #expect(next.origin == origin && next.seq == UInt64(stored.count) + 1)
    }
}
