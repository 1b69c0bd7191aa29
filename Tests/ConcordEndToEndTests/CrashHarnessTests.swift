import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// The crash harness (docs/reliability.md): a real `concord` process appending, importing,
/// syncing or rebuilding its read models is killed with SIGKILL at a seeded random moment, again
/// and again on the same store. After every kill: each acknowledged append is present exactly
/// once, an import is all there or not at all, `concord verify` (SQLite's integrity check and
/// the hash chains) passes, the read models equal a fresh rebuild, and the next sync completes.
///
/// CI runs a few kills; `scripts/crash-test.sh` (CONCORD_CRASH_KILLS=200) runs the full count.
struct CrashHarnessTests {
    enum Operation: String, CaseIterable {
        case append, `import`, sync, rebuild, erase
    }

    struct Tally: CustomStringConvertible {
        var kills: [Operation: Int] = [:]
        var acknowledged = 0
        var lost = 0
        var duplicated = 0
        var partialImports = 0
        var importsKilledBeforeCommit = 0
        var erasuresStored = 0
        var erasuresKilledBeforeCommit = 0

        var description: String {
            let kinds = Operation.allCases.map { "\($0.rawValue) \(kills[$0, default: 0])" }.joined(separator: ", ")
            return "\(kills.values.reduce(0, +)) kills (\(kinds)); \(acknowledged) acknowledged appends, \(lost) lost, \(duplicated) duplicated; \(partialImports) partial imports (\(importsKilledBeforeCommit) killed before their commit); erasures: \(erasuresStored) stored whole, \(erasuresKilledBeforeCommit) killed before their commit, none partial"
        }
    }

    let concord: ConcordExecutable
    let directory: TemporaryDirectory
    var node: String { directory.file("node.sqlite") }
    var hub: String { directory.file("hub.sqlite") }

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("crash")
    }

    static var kills: Int {
        ProcessInfo.processInfo.environment["CONCORD_CRASH_KILLS"].flatMap(Int.init) ?? 8
    }

    @discardableResult
    func ok(_ arguments: [String], store: String) throws -> String {
        let result = try concord.run(arguments + ["--store", store, "--durability", "normal"], environment: ["CONCORD_ACTOR": "crash-test"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return result.stdout
    }

    /// NDJSON for `concord import --new`: cases with notes, under a prefix that names the batch.
    func newEvents(prefix: String, cases: Int, notesPerCase: Int) throws -> String {
        var lines: [String] = []
        for index in 0..<cases {
            lines.append(#"{"stream":"case:\#(prefix)-\#(index)","type":"case.opened","data":{"reference":"\#(prefix)-\#(index)","title":"Crash test case \#(index)","region":"Test"}}"#)
            for note in 0..<notesPerCase {
                lines.append(#"{"stream":"case:\#(prefix)-\#(index)","type":"case.note-added","data":{"note":"note \#(note) of \#(prefix)"}}"#)
            }
        }
        let path = directory.file("\(prefix).ndjson")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `arguments` on the node and kills it with SIGKILL after `millis`; returns its output.
    func killed(_ arguments: [String], after millis: Int) throws -> String {
        let (process, output) = try concord.start(arguments + ["--store", node, "--durability", "normal"], environment: ["CONCORD_ACTOR": "crash-test"])
        // The delay picks the moment of the fault; nothing waits on it for a result.
        Thread.sleep(forTimeInterval: Double(millis) / 1000)
        kill(process.processIdentifier, SIGKILL)
        let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }

    /// Every byte of the node's store and WAL.
    func nodeFiles() -> Data {
        ["", "-wal"].reduce(into: Data()) { all, suffix in all += FileManager.default.contents(atPath: node + suffix) ?? Data() }
    }

    func count(streamPrefix prefix: String) throws -> Int64 {
        let store = try SQLiteEventStore.open(at: node, logger: StoreFixtures.quietLogger)
        return try store.withConnection("count") { state in
            try state.connection.scalarInt("SELECT count(*) FROM events WHERE stream >= ? AND stream < ?", [.text("case:\(prefix)-"), .text("case:\(prefix)-\u{10FFFF}")]) ?? 0
        }
    }

    @Test func killedProcessesLoseNothingAcknowledgedAndLeaveASoundStore() throws {
        var random = SeededRandom(seed: ProcessInfo.processInfo.environment["CONCORD_CRASH_SEED"].flatMap(UInt64.init) ?? 7)
        try ok(["init", "--node", "node"], store: node)
        try ok(["init", "--node", "hub"], store: hub)
        try ok(["import", "--new", try newEvents(prefix: "HUB-0", cases: 100, notesPerCase: 9)], store: hub)
        let token = String(try ok(["token", "issue", "node"], store: hub).split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: hub)
        defer { server.stop() }
        let origin = try SQLiteEventStore.open(at: node, logger: StoreFixtures.quietLogger).nodeInfo().origin
        var acknowledged: Set<UInt64> = []
        var tally = Tally()

        for kill in 0..<Self.kills {
            // Every operation in turn, each killed at a random moment.
            let operation = Operation.allCases[kill % Operation.allCases.count]
            // Kill moments scaled to how long each operation takes here, so many land inside it.
            let delay = Int.random(in: operation == .import || operation == .rebuild ? 5...150 : 5...400, using: &random)
            tally.kills[operation, default: 0] += 1
            switch operation {
            case .append:
                // Each run's events carry its own marker: an append stored twice shows as the same
                // (marker, number) twice, whatever seqs it was given.
                let output = try killed(["debug", "append-loop", "--stream", "test:crash", "--count", "100000", "--marker", "kill-\(kill)"], after: delay)
                // A partial last line was never acknowledged.
                for line in output.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("ack ") {
                    if let seq = UInt64(line.dropFirst(4)) { acknowledged.insert(seq) }
                }
            case .import:
                let prefix = "IMPORT-\(kill)"
                let file = try newEvents(prefix: prefix, cases: 10, notesPerCase: 49)
                let output = try killed(["import", "--new", file], after: delay)
                let stored = try count(streamPrefix: prefix)
                #expect(stored == 0 || stored == 500, "kill \(kill): import stored \(stored) of 500 events")
                if stored != 0 && stored != 500 { tally.partialImports += 1 }
                if output.contains("Recorded") { #expect(stored == 500, "kill \(kill): an acknowledged import lost events") }
                if stored == 0 {
                    tally.importsKilledBeforeCommit += 1
                    // Killed before its commit: running it again stores it whole.
                    try ok(["import", "--new", file], store: node)
                    #expect(try count(streamPrefix: prefix) == 500)
                }
            case .sync:
                try ok(["import", "--new", try newEvents(prefix: "HUB-\(kill + 1)", cases: 10, notesPerCase: 49)], store: hub)
                _ = try killed(["sync", server.url, "--token", token], after: delay)
            case .rebuild:
                _ = try killed(["projections", "rebuild"], after: delay)
            case .erase:
                // A case whose notes carry a marker, erased by a process killed at a random moment:
                // afterwards the erasure is stored whole (every note erased, the marker in no byte
                // of the store or its WAL once the store is next opened) or not at all.
                let marker = "erase-marker-\(kill)-\(UInt64.random(in: 0...UInt64.max, using: &random))"
                let file = directory.file("erase-\(kill).ndjson")
                let lines = [#"{"stream":"case:ERASE-\#(kill)","type":"case.opened","data":{"reference":"ERASE-\#(kill)","title":"\#(marker)","region":"Test"}}"#]
                    + (0..<20).map { #"{"stream":"case:ERASE-\#(kill)","type":"case.note-added","data":{"note":"\#(marker) note \#($0)"}}"# }
                try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
                try ok(["import", "--new", file], store: node)
                _ = try killed(["erase", "case:ERASE-\(kill)", "--reason", "crash test"], after: Int.random(in: 1...40, using: &random))
                let store = try SQLiteEventStore.open(at: node, options: .init(durability: .normal), logger: StoreFixtures.quietLogger)
                let states = try store.readStream(try StreamID("case:ERASE-\(kill)"), afterVersion: 0, limit: Int.max).map(\.event.disclosure)
                #expect(states.count == 21, "kill \(kill): \(states.count) events of the erased case")
                if states.allSatisfy({ $0 == .erased }) {
                    tally.erasuresStored += 1
                    // Opening the store (above) finished any scrub the kill interrupted.
                    #expect(nodeFiles().range(of: Data(marker.utf8)) == nil, "kill \(kill): the erased text is still in the store's files")
                } else {
                    #expect(states.allSatisfy { $0 == .full }, "kill \(kill): a partial erasure: \(states)")
                    tally.erasuresKilledBeforeCommit += 1
                }
            }

            // After every kill: the store is sound and holds every acknowledged append exactly once.
            let verify = try concord.run(["verify", "--store", node])
            #expect(verify.status == 0, "kill \(kill) (\(operation)): verify failed: \(verify.stdout)\(verify.stderr)")
            let store = try SQLiteEventStore.open(at: node, options: .init(durability: .normal), logger: StoreFixtures.quietLogger)
            let appended = try store.readOrigin(origin, afterSeq: 0, limit: Int.max).filter { $0.event.stream.rawValue == "test:crash" }.map(\.event)
            let held = appended.map(\.seq)
            let lost = acknowledged.subtracting(held)
            // By content, not by (origin, seq) (which the unique index keeps unique anyway).
            let duplicated = appended.count - Set(appended.map(\.payload)).count
            #expect(lost.isEmpty, "kill \(kill) (\(operation)): acknowledged appends lost: \(lost.sorted().prefix(10))")
            #expect(duplicated == 0, "kill \(kill) (\(operation)): \(duplicated) duplicated")
            tally.lost += lost.count
            tally.duplicated += duplicated

            // The read models equal a fresh rebuild of the same log.
            let caughtUp = try ok(["digest"], store: node)
            try ok(["projections", "rebuild"], store: node)
            #expect(try ok(["digest"], store: node) == caughtUp, "kill \(kill) (\(operation)): read models differ from a rebuild")

            // The next sync completes.
            let sync = try concord.run(["sync", server.url, "--token", token, "--store", node, "--durability", "normal"])
            #expect(sync.status == 0, "kill \(kill) (\(operation)): the next sync failed: \(sync.stderr)")
        }
        tally.acknowledged = acknowledged.count
        print("crash harness: \(tally)")
        #expect(try ok(["digest"], store: node) == (try ok(["digest"], store: hub)))
    }
}
