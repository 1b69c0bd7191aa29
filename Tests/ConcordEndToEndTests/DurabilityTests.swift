import ConcordCore
import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// Invariant 6: an append acknowledged to the caller survives the process being killed and, at
/// `--durability full`, the power being cut.
struct DurabilityTests {
    /// Runs `concord debug append-loop`, reads acknowledgements until a random count, then kills it
    /// without warning. Returns the acknowledged seqs.
    func appendUntilKilled(_ concord: ConcordExecutable, store: String, durability: SQLiteEventStore.Options.Durability, environment: [String: String] = [:]) throws -> [UInt64] {
        let (process, output) = try concord.start(["debug", "append-loop", "--store", store, "--durability", durability.rawValue, "--count", "100000"], environment: environment)
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
        return acknowledged
    }

    /// The seqs of the store's own origin after reopening, and whether it is sound.
    func storedSeqs(_ store: String) throws -> (origin: OriginID, seqs: [UInt64]) {
        let reopened = try SQLiteEventStore.open(at: store, logger: StoreFixtures.quietLogger)
        let origin = try reopened.origin
        let stored = try reopened.readOrigin(origin, afterSeq: 0, limit: 1_000_000).map(\.event.seq)
        #expect(stored == Array(1...UInt64(max(stored.count, 1))).prefix(stored.count).map { $0 })
        #expect(try reopened.integrityCheck() == "ok")
        #expect(try LogVerifier.verify(reopened).isValid)
        // And the node goes on writing as the same origin.
        let next = try reopened.append([StoreFixtures.draft()]).events[0].event
        #expect(next.origin == origin && next.seq == UInt64(stored.count) + 1)
        return (origin, stored)
    }

    @Test(arguments: [SQLiteEventStore.Options.Durability.full, .normal])
    func acknowledgedAppendsSurviveSIGKILL(durability: SQLiteEventStore.Options.Durability) throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("kill")
        let store = directory.file("node.sqlite")
        #expect(try concord.run(["init", "--node", "crash", "--store", store]).status == 0)
        let acknowledged = try appendUntilKilled(concord, store: store, durability: durability)
        let stored = try storedSeqs(store).seqs
        // Every acknowledged event is there exactly once; at most the one in flight is extra.
        #expect(Array(stored.prefix(acknowledged.count)) == acknowledged)
        #expect(stored.count <= acknowledged.count + 1)
    }

    /// A power cut loses what was written but not synced. At `full` each commit is synced before
    /// it is acknowledged, so nothing acknowledged is lost; at `normal` the WAL is synced only at
    /// checkpoints, so acknowledged appends since the last one are lost, as documented (cli.md).
    /// That the second case loses events shows the harness can tell the two apart.
    @Test(arguments: [SQLiteEventStore.Options.Durability.full, .normal])
    func acknowledgedAppendsSurviveAPowerCutOnlyAtFullDurability(durability: SQLiteEventStore.Options.Durability) throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("power")
        let store = directory.file("node.sqlite")
        #expect(try concord.run(["init", "--node", "power", "--store", store]).status == 0)
        let cut = try PowerCut(directory: directory, store: store)
        let acknowledged = try appendUntilKilled(concord, store: store, durability: durability, environment: cut.environment)
        let undone = try cut.cut()
        let stored = try storedSeqs(store).seqs
        switch durability {
        case .full:
            #expect(Array(stored.prefix(acknowledged.count)) == acknowledged, "acknowledged appends lost: \(acknowledged.count) acknowledged, \(stored.count) after the cut (\(undone) writes undone)")
            #expect(stored.count <= acknowledged.count + 1)
        case .normal:
            #expect(undone > 0)
            #expect(stored.count < acknowledged.count, "at normal durability a power cut should lose the latest acknowledged appends: \(acknowledged.count) acknowledged, \(stored.count) kept")
        }
    }
}
