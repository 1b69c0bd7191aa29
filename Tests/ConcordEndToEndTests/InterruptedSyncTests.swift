import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// A sync whose connection is cut mid-body stores nothing partial; the next one completes,
/// with nothing lost or duplicated.
struct InterruptedSyncTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("interrupted")
    }

    func run(_ node: String, _ arguments: [String], stdin: String? = nil) throws -> ConcordExecutable.Result {
        try concord.run(arguments + ["--store", directory.file("\(node).sqlite")], stdin: stdin)
    }

    func events(_ node: String) throws -> Int {
        guard case .number(let count)? = try JSONValue(parsing: try run(node, ["status", "--json"]).stdout)["events"] else { return -1 }
        return Int(count) ?? -1
    }

    /// 3000 events on `node`, one commit (sealed at 1000, 2000 and 3000).
    func fill(_ node: String, prefix: String) throws {
        let lines = (1...3000).map { #"{"stream":"notes:\#(prefix)-\#($0 % 40)","type":"note.added","data":{"text":"note \#($0) with some words to make the batch longer than a few packets"}}"# }
        #expect(try run(node, ["import", "--new", "-"], stdin: lines.joined(separator: "\n")).status == 0)
    }

    @Test func aPullCutMidAnswerStoresNothingAndTheRetryCompletes() throws {
        for node in ["hub", "region"] { #expect(try run(node, ["init", "--node", node]).status == 0) }
        try fill("hub", prefix: "hub")
        let token = String(try run("hub", ["token", "issue", "region"]).stdout.split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        let proxy = try FaultProxy(upstream: server.url, responseLimit: 40_000)
        defer { proxy.stop() }

        let cut = try run("region", ["sync", proxy.url, "--token", token, "--direction", "pull"])
        #expect(cut.status != 0)
        #expect(cut.stderr.contains("cut") || cut.stderr.contains("ended early") || cut.stderr.contains("truncated"), "\(cut.stderr)")
        #expect(try events("region") == 0)

        let retry = try run("region", ["sync", server.url, "--token", token, "--direction", "pull"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("pulled 3000 new event(s)"))
        #expect(try events("region") == 3000)
        #expect(try run("region", ["verify"]).status == 0)
        #expect(try run("region", ["digest"]).stdout == (try run("hub", ["digest"])).stdout)
    }

    @Test func aPushCutMidBodyStoresNothingAndTheRetryCompletes() throws {
        for node in ["hub", "region"] { #expect(try run(node, ["init", "--node", node]).status == 0) }
        try fill("region", prefix: "region")
        let token = String(try run("hub", ["token", "issue", "region"]).stdout.split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        defer { server.stop() }
        // Long enough to pass the pull and into the pushed body, short of its end.
        let proxy = try FaultProxy(upstream: server.url, requestLimit: 30_000)
        defer { proxy.stop() }

        let cut = try run("region", ["sync", proxy.url, "--token", token, "--direction", "push"])
        #expect(cut.status != 0, "\(cut.stdout)")
        #expect(try events("hub") == 0)
        #expect(server.isRunning)

        let retry = try run("region", ["sync", server.url, "--token", token])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("pushed 3000"), "\(retry.stdout)")
        #expect(try events("hub") == 3000)
        let again = try run("region", ["sync", server.url, "--token", token])
        #expect(again.stdout.contains("pulled 0 new event(s), pushed 0"))
        #expect(try run("hub", ["verify"]).status == 0)
    }
}
