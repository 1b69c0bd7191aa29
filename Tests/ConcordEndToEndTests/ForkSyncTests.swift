import ConcordCore
import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// Forks over real vector sync, between real `concord serve` and `concord sync` processes: a
/// region's key is stolen and signs a second history, which reaches the network through another
/// node. Whatever the shape (a branch that continues the receiver's vector, a branch of the same
/// length, or one that arrives through a relay), both sides of the first contact find it, each
/// keeps the other history with its seal as evidence, and every other origin goes on syncing.
struct ForkSyncTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("forks")
    }

    func store(_ node: String) -> String { directory.file("\(node).sqlite") }

    @discardableResult
    func run(_ node: String, _ arguments: [String], expect status: Int32 = 0) throws -> ConcordExecutable.Result {
        let result = try concord.run(arguments + ["--store", store(node)], environment: ["CONCORD_ACTOR": "officer@\(node)"])
        #expect(result.status == status, "\(node) \(arguments.prefix(3)): exit \(result.status), expected \(status): \(result.stderr)")
        return result
    }

    func tokenFile(for peer: String, on hub: String) throws -> String {
        let token = String(try run(hub, ["token", "issue", peer]).stdout.split(separator: "\n").last ?? "")
        let file = directory.file("\(peer)-at-\(hub).token")
        try (token + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Region `wy` records `held` notes and syncs them to `hub`; then a thief of wy's key writes
    /// another history after the first `shared` of them, `extra` events long, into a new node `thief`
    /// (which also records events of its own origin).
    func stolenKey(hub: ServerProcess, hubName: String = "hub", held: Int, shared: Int, extra: Int) throws -> OriginID {
        try run("wy", ["init", "--node", "wy"])
        for index in 1...held { try run("wy", ["append", "notes:wy", "note.added", "--data", #"{"n":\#(index)}"#]) }
        try run("wy", ["sync", hub.url, "--token-file", try tokenFile(for: "wy", on: hubName)])
        let wy = try SQLiteEventStore.open(at: store("wy"), logger: StoreFixtures.quietLogger)
        let origin = try wy.origin
        let key = try #require(try NodeKeyFile.read(at: store("wy") + ".key"))
        let events = try wy.readOrigin(origin, afterSeq: 0, limit: shared).map(\.event)
        var thief = ForgedOrigin(key: key, events: events, seals: try wy.seals(of: origin).filter { $0.seq <= UInt64(shared) })
        for index in 1...extra { thief.append(stream: "notes:wy", payload: #"{"stolen":\#(index)}"#) }
        thief.seal()
        try run("thief", ["init", "--node", "thief"])
        try (thief.lines() + "\n").write(toFile: directory.file("stolen.ndjson"), atomically: true, encoding: .utf8)
        try run("thief", ["import", directory.file("stolen.ndjson")])
        try run("thief", ["case", "open", "TH-1", "--title", "The thief's own case", "--region", "Elsewhere"])
        return origin
    }

    /// The node holds proof of a fork of `origin`: status says so and verify exits 3 with a FORK line.
    func expectEvidence(on node: String, of origin: OriginID, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let verify = try run(node, ["verify"], expect: 3)
        #expect(verify.stdout.contains("FORK origin \(origin)"), "\(node): \(verify.stdout)", sourceLocation: sourceLocation)
        #expect(try run(node, ["status", "--json"]).stdout.contains("\"forks\":1"), "\(node) keeps no evidence", sourceLocation: sourceLocation)
    }

    func holds(_ node: String, _ text: String) throws -> Bool {
        try run(node, ["log", "--json"]).stdout.contains(text)
    }

    @Test func aBranchThatContinuesTheReceiversVectorIsFoundOnBothSides() throws {
        try run("hub", ["init", "--node", "hub"])
        let hub = try ServerProcess(concord, store: store("hub"))
        defer { hub.stop() }
        // The hub holds wy 1…3; the thief's branch is 1…2, then 3'…5'.
        let origin = try stolenKey(hub: hub, held: 3, shared: 2, extra: 3)
        let sync = try run("thief", ["sync", hub.url, "--token-file", try tokenFile(for: "thief", on: "hub")], expect: 70)
        #expect(sync.stderr.contains("set aside origin \(origin)") && sync.stderr.contains("fork"), "\(sync.stderr)")
        try expectEvidence(on: "hub", of: origin)
        try expectEvidence(on: "thief", of: origin)
        // The thief's own origin still went to the hub, and the stolen events did not.
        #expect(try holds("hub", "The thief's own case"))
        #expect(try !holds("hub", "stolen"))
        // Another region syncs with the hub as before and gets the rest.
        try run("gm", ["init", "--node", "gm"])
        try run("gm", ["sync", hub.url, "--token-file", try tokenFile(for: "gm", on: "hub")])
        #expect(try holds("gm", "The thief's own case") && holds("gm", #""n":3"#))
    }

    @Test func twoBranchesOfEqualLengthAreFoundAtTheFirstContact() throws {
        try run("hub", ["init", "--node", "hub"])
        let hub = try ServerProcess(concord, store: store("hub"))
        defer { hub.stop() }
        // Both hold wy 1…3: the vectors are equal, the third events differ.
        let origin = try stolenKey(hub: hub, held: 3, shared: 2, extra: 1)
        try run("thief", ["sync", hub.url, "--token-file", try tokenFile(for: "thief", on: "hub")], expect: 70)
        try expectEvidence(on: "hub", of: origin)
        try expectEvidence(on: "thief", of: origin)
        #expect(try holds("hub", "The thief's own case"))
        // A second sync finds it again, stores nothing new, and still exits 70.
        try run("thief", ["sync", hub.url, "--token-file", directory.file("thief-at-hub.token")], expect: 70)
        #expect(try run("hub", ["status", "--json"]).stdout.contains("\"forks\":1"))
        // Moving the hub keeps the evidence: the copy finds the same fork.
        let copied = try concord.run(["copy", "--from", store("hub"), "--to", store("hub-copy")])
        #expect(copied.status == 0, "\(copied.stdout) \(copied.stderr)")
        try expectEvidence(on: "hub-copy", of: origin)
    }

    @Test func aBranchThatArrivesThroughARelayIsFoundWhereTheHistoriesMeet() throws {
        // hub holds the real wy history; relay gets the thief's; then relay syncs with hub.
        for node in ["hub", "relay", "gm"] { try run(node, ["init", "--node", node]) }
        let hub = try ServerProcess(concord, store: store("hub"))
        defer { hub.stop() }
        let relay = try ServerProcess(concord, store: store("relay"))
        defer { relay.stop() }
        let origin = try stolenKey(hub: hub, held: 4, shared: 1, extra: 2)
        try run("thief", ["sync", relay.url, "--token-file", try tokenFile(for: "thief", on: "relay")])
        try run("gm", ["case", "open", "GM-1", "--title", "Greater Manchester's case", "--region", "Greater Manchester"])
        try run("gm", ["sync", hub.url, "--token-file", try tokenFile(for: "gm", on: "hub")])
        // The relay pulls from and pushes to the hub: the two histories meet here.
        let meet = try run("relay", ["sync", hub.url, "--token-file", try tokenFile(for: "relay", on: "hub")], expect: 70)
        #expect(meet.stderr.contains("fork"), "\(meet.stderr)")
        try expectEvidence(on: "hub", of: origin)
        try expectEvidence(on: "relay", of: origin)
        // Every other origin crossed: gm's case to the relay, the thief's own case to the hub.
        #expect(try holds("relay", "Greater Manchester's case"))
        #expect(try holds("hub", "The thief's own case"))
    }
}
