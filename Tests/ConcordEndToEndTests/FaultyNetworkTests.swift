import ConcordCore
import ConcordTestSupport
import Foundation
import Synchronization
import Testing

/// Many syncs through a proxy that cuts, stalls and slows connections (seeded), while both sides
/// keep recording. However each sync ends, a final clean sync leaves both nodes with every event
/// exactly once and the same read models (docs/reliability.md).
///
/// CI runs a few; `CONCORD_FAULTY_SYNCS=100` (scripts/fault-test.sh) runs the full count.
struct FaultyNetworkTests {
    static var runs: Int { ProcessInfo.processInfo.environment["CONCORD_FAULTY_SYNCS"].flatMap(Int.init) ?? 12 }

    @Test func syncsThroughAFaultyNetworkConvergeWithNothingLostOrDuplicated() throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("faulty")
        func run(_ node: String, _ arguments: [String], stdin: String? = nil) throws -> ConcordExecutable.Result {
            try concord.run(arguments + ["--store", directory.file("\(node).sqlite"), "--durability", "normal"], stdin: stdin)
        }
        func events(_ node: String) throws -> Int {
            guard case .number(let count)? = try JSONValue(parsing: try run(node, ["status", "--json"]).stdout)["events"] else { return -1 }
            return Int(count) ?? -1
        }
        for node in ["hub", "region"] { #expect(try run(node, ["init", "--node", node]).status == 0) }
        let token = String(try run("hub", ["token", "issue", "region"]).stdout.split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        let seed = ProcessInfo.processInfo.environment["CONCORD_FAULT_SEED"].flatMap(UInt64.init) ?? 11
        let plan = Mutex((random: SeededRandom(seed: seed), kinds: [String: Int]()))
        let proxy = try FaultProxy(upstream: server.url) {
            plan.withLock { state in
                let (fault, kind) = ConnectionFault.random(using: &state.random)
                state.kinds[kind, default: 0] += 1
                return fault
            }
        }
        defer { proxy.stop() }

        var recorded = 0
        var outcomes = (completed: 0, failed: 0)
        for index in 0..<Self.runs {
            // Both sides record between syncs: a batch of notes on the hub, one case event on the region.
            let notes = (0..<300).map { #"{"stream":"notes:hub-\#($0 % 7)","type":"note.added","data":{"text":"run \#(index) note \#($0), long enough to spread the batch over several packets"}}"# }
            #expect(try run("hub", ["import", "--new", "-"], stdin: notes.joined(separator: "\n")).status == 0)
            #expect(try run("region", ["case", "open", "F-\(index)", "--title", "Run \(index)", "--region", "Test"]).status == 0)
            recorded += 301
            let sync = try run("region", ["sync", proxy.url, "--token", token])
            if sync.status == 0 { outcomes.completed += 1 } else { outcomes.failed += 1 }
            #expect(sync.status == 0 || sync.status == 69, "run \(index): \(sync.stderr)")
        }
        // The network heals.
        #expect(try run("region", ["sync", server.url, "--token", token]).status == 0)
        #expect(try events("hub") == recorded)
        #expect(try events("region") == recorded)
        #expect(try run("hub", ["digest"]).stdout == (try run("region", ["digest"])).stdout)
        for node in ["hub", "region"] { #expect(try run(node, ["verify"]).status == 0) }
        let kinds = plan.withLock { $0.kinds }
        print("faulty network: \(Self.runs) syncs (\(outcomes.completed) completed, \(outcomes.failed) cut short), connections: \(kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); converged with \(recorded) events on both nodes")
        #expect(outcomes.failed > 0, "the proxy injected no fault that stopped a sync")
    }
}
