import AsyncHTTPClient
import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import ConcordZlib
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A hostile peer with a push token and a fresh key (first-sight mode accepts any new origin)
/// sends correctly hashed and sealed events built to crash or wedge the network, against real
/// `concord serve` and `concord sync` processes. For each: the hub stays up, every node keeps
/// syncing every other origin, and the events themselves are refused, set aside or synced, as
/// docs/sync-protocol.md says.
@Suite(.serialized)
final class SignedIsNotSafeTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory
    let server: ServerProcess
    let http: HTTPClient
    let forgerToken: String

    init() throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("unsafe")
        func run(_ node: String, _ arguments: [String]) throws -> String {
            try Self.ok(concord, directory, node, arguments)
        }
        for node in ["hub", "wy", "gm"] { _ = try run(node, ["init", "--node", node]) }
        func token(_ peer: String) throws -> String { String(try run("hub", ["token", "issue", peer]).split(separator: "\n").last ?? "") }
        forgerToken = try token("forger")
        for region in ["wy", "gm"] {
            try (try token(region) + "\n").write(toFile: directory.file("\(region).token"), atomically: true, encoding: .utf8)
        }
        _ = try run("hub", ["case", "open", "HUB-1", "--title", "Held by the hub", "--region", "National"])
        let server = try ServerProcess(concord, store: directory.file("hub.sqlite"))
        for region in ["wy", "gm"] { _ = try run(region, ["peer", "add", "hub", server.url, "--token-file", directory.file("\(region).token")]) }
        self.concord = concord
        self.directory = directory
        self.server = server
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))
    }

    static func ok(_ concord: ConcordExecutable, _ directory: TemporaryDirectory, _ node: String, _ arguments: [String], stdin: String? = nil) throws -> String {
        let result = try concord.run(arguments + ["--store", directory.file("\(node).sqlite")], environment: ["CONCORD_ACTOR": "officer@\(node)"], stdin: stdin)
        #expect(result.status == 0, "\(node) \(arguments.prefix(3)): exit \(result.status): \(result.stderr)")
        return result.stdout
    }

    deinit {
        server.stop()
        try? http.syncShutdown()
    }

    func store(_ node: String) -> String { directory.file("\(node).sqlite") }

    @discardableResult
    func ok(_ node: String, _ arguments: [String], stdin: String? = nil) throws -> String {
        try Self.ok(concord, directory, node, arguments, stdin: stdin)
    }

    func push(_ body: String) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: server.url + "/v1/push")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(forgerToken)")
        request.headers.add(name: "Content-Encoding", value: "gzip")
        request.body = .bytes(ByteBuffer(bytes: Zlib.compress(Array(body.utf8), format: .gzip)))
        let response = try await http.execute(request, timeout: .seconds(60))
        var text = ""
        for try await chunk in response.body { text += String(buffer: chunk) }
        return (Int(response.status.code), text)
    }

    func healthy() async throws -> Bool {
        let response = try await http.execute(HTTPClientRequest(url: server.url + "/health"), timeout: .seconds(10))
        return response.status == .ok
    }

    /// After each attack: the hub answers, both regions record and sync, and each sees the other's work.
    func everyoneStillSyncs(_ label: String) async throws {
        #expect(try await healthy(), "\(label): the hub stopped answering")
        let caseID = "WY-\(UInt32.random(in: 0...UInt32.max))"
        try ok("wy", ["case", "open", caseID, "--title", "After \(label)", "--region", "West Yorkshire"])
        try ok("hub", ["case", "note", "HUB-1", "hub note after \(label)"])
        for region in ["wy", "gm", "wy"] { try ok(region, ["sync", "hub"]) }
        #expect(try ok("gm", ["show", "case:\(caseID)"]).contains("After \(label)"), "\(label): gm did not get wy's case")
        #expect(try ok("gm", ["digest"]) == (try ok("hub", ["digest"])), "\(label): gm and the hub differ")
        // The hub's own clock was not dragged: its newest event is stamped about now.
        let newest = try JSONValue(parsing: String(try ok("hub", ["log", "--json", "--limit", "1"]).split(separator: "\n").last ?? ""))
        guard case .number(let wall)? = newest["hlc"]?["wallMillis"], let millis = Int64(wall) else {
            Issue.record("\(label): no clock stamp on the hub's event")
            return
        }
        #expect(abs(millis - Timestamp.nowMillis()) < EventLimits.maxClockAheadMillis, "\(label): the hub's clock was dragged to \(millis)")
        // Sound; a refused push may leave the forger's origin listed as set aside (exit 3).
        let verify = try concord.run(["verify", "--store", store("hub")])
        #expect([0, 3].contains(verify.status) && !verify.stdout.contains("FAULT"), "\(label): \(verify.stdout)")
    }

    @Test func poisonedFieldsAreRefusedBeforeAnythingIsStored() async throws {
        let attacks: [(String, (inout ForgedOrigin) -> Void, Int, String)] = [
            ("occurredAt Int64.min", { $0.append(occurredAt: .min) }, 422, "occurredAt"),
            ("recordedAt Int64.min", { $0.append(recordedAt: .min) }, 422, "recordedAt"),
            ("recordedAt Int64.max", { $0.append(recordedAt: .max) }, 422, "recordedAt"),
            ("a prev seq of 2^63", { $0.append(prev: [EventID(origin: NodeKey().origin, seq: 1 << 63)]) }, 422, "ORIGIN:SEQ"),
            ("a prev seq of 2^64 - 1", { $0.append(prev: [EventID(origin: NodeKey().origin, seq: .max)]) }, 422, "ORIGIN:SEQ"),
            ("an event seq of 2^63", { $0.append(seq: 1 << 63) }, 422, "\"seq\""),
            ("an HLC wall of 2^46", { $0.append(hlc: HLCTimestamp(wallMillis: 1 << 46, counter: .max)) }, 422, "hlcWallMillis"),
            ("an HLC at the end of its range", { $0.append(hlc: HLCTimestamp(wallMillis: (1 << 46) - 1, counter: .max)) }, 422, "ahead of this node's clock"),
            ("an HLC a day ahead", { $0.append(hlc: HLCTimestamp(wallMillis: Timestamp.nowMillis() + 86_400_000)) }, 422, "ahead of this node's clock"),
            ("1025 prev ids", { $0.append(prev: (1...1025).map { EventID(origin: OriginID(publicKey: [UInt8($0 & 0xff), UInt8($0 >> 8)]), seq: 1) }.sorted()) }, 422, "at most 1024"),
            ("data 65 deep", { $0.append(payload: String(repeating: #"{"a":"#, count: 64) + "{}" + String(repeating: "}", count: 64)) }, 422, "nested deeper"),
            ("an actor with a control character", { $0.append(actor: "a\u{7}b") }, 422, "control character"),
            ("an HLC that runs back", { o in o.append(hlc: HLCTimestamp(wallMillis: Timestamp.nowMillis())); o.append(hlc: HLCTimestamp(wallMillis: Timestamp.nowMillis() - 60_000)) }, 422, "never runs back"),
            ("5000 events sealed only at the end", { o in for _ in 0..<5000 { o.append() } }, 422, "seals its chain only after"),
        ]
        for (label, build, status, text) in attacks {
            var forged = ForgedOrigin()
            build(&forged)
            forged.seal()
            let before = try ok("hub", ["log", "--json"])
            let (got, answer) = try await push(forged.lines())
            let message = (try? JSONValue(parsing: answer))?["error"]?["message"]?.stringValue ?? answer
            #expect(got == status, "\(label): \(got) \(answer.prefix(300))")
            #expect(message.contains(text), "\(label): \(message.prefix(300))")
            #expect(try ok("hub", ["log", "--json"]) == before, "\(label): the hub stored something")
            try await everyoneStillSyncs(label)
        }
    }

    @Test func aBadOriginInABatchIsSetAsideAndTheRestOfTheBatchIsStored() async throws {
        var honest = ForgedOrigin()
        honest.append(payload: #"{"n":"honest"}"#)
        honest.seal()
        var ahead = ForgedOrigin()
        ahead.append(hlc: HLCTimestamp(wallMillis: Timestamp.nowMillis() + 86_400_000))
        ahead.seal()
        let (status, answer) = try await push(honest.lines() + ahead.lines())
        #expect(status == 200, "\(answer)")
        let result = try SyncWire.PushResult(json: answer)
        #expect(result.accepted == 1 && result.refused.map(\.origin) == [ahead.origin] && result.refused.first?.code == "clock-ahead")
        #expect(result.vector[honest.origin] == 1 && result.vector[ahead.origin] == 0)
        // status names what the hub set aside from this peer.
        #expect(try ok("hub", ["status"]).contains("SET ASIDE"))
        try await everyoneStillSyncs("a mixed batch")
    }

    @Test func aNodesOwnEventsAtEveryLimitAlwaysSync() async throws {
        // Data 64 deep (the limit), a note of almost 1 MiB of spaces (compresses a thousandfold),
        // and data of exactly 1 MiB: the writer accepts each, so sync and import must too.
        let deep = String(repeating: #"{"a":"#, count: 63) + "{}" + String(repeating: "}", count: 63)
        let spaces = #"{"note":""# + String(repeating: " ", count: EventLimits.maxPayloadBytes - 11) + #""}"#
        let exact = #"{"n":""# + String(repeating: "x", count: EventLimits.maxPayloadBytes - 8) + #""}"#
        #expect(exact.utf8.count == EventLimits.maxPayloadBytes)
        let lines = [deep, spaces, exact, spaces, spaces, exact, exact].map { #"{"stream":"notes:limits","type":"note.added","data":\#($0)}"# }
        let file = directory.file("limits.ndjson")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try ok("wy", ["import", "--new", file])
        let pushed = try ok("wy", ["sync", "hub"])
        #expect(pushed.contains("pushed 7"), "\(pushed)")
        let pulled = try ok("gm", ["sync", "hub"])
        #expect(pulled.contains("pulled 8"), "the 7 and the hub's case: \(pulled)")
        #expect(try ok("gm", ["digest"]) == (try ok("wy", ["digest"])))
        // And through a file: export, then import into a new node.
        try ok("wy", ["export", "--out", directory.file("wy.ndjson")])
        try ok("fresh", ["init", "--node", "fresh"])
        #expect(try ok("fresh", ["import", directory.file("wy.ndjson")]).contains("Imported 8 event(s)"))
        #expect(try concord.run(["verify", "--store", store("fresh")]).status == 0)
    }

    @Test func aHubWithTheSmallestBatchLimitTakesEveryPush() async throws {
        try ok("small", ["init", "--node", "small"])
        let smallToken = directory.file("small.token")
        try (String(try ok("small", ["token", "issue", "wy"]).split(separator: "\n").last ?? "") + "\n").write(toFile: smallToken, atomically: true, encoding: .utf8)
        let small = try ServerProcess(concord, store: store("small"), extraArguments: ["--max-batch-events", "1000"])
        defer { small.stop() }
        let lines = (1...2500).map { #"{"stream":"notes:many","type":"note.added","data":{"n":\#($0)}}"# }
        try ok("wy", ["import", "--new", "-"], stdin: lines.joined(separator: "\n"))
        let synced = try ok("wy", ["sync", small.url, "--token-file", smallToken])
        #expect(synced.contains("pushed 2500"), "\(synced)")
        #expect(try ok("small", ["status", "--json"]).contains("\"events\":2500"))
        // A server below the protocol's floor refuses to start, saying why.
        let refused = try concord.run(["serve", "--store", store("small"), "--listen", "127.0.0.1:0", "--max-batch-events", "999"])
        #expect(refused.status == 64 && refused.stderr.contains("at least 1000"), "\(refused.stderr)")
    }

    @Test func anEventAnOlderReleaseStoredOutOfRangeIsNeitherFatalNorSentOn() async throws {
        // As an older release stored it: a sealed event with a time of Int64.min, on a case.
        var legacy = ForgedOrigin()
        legacy.append(stream: "case:HUB-1", type: "case.note-added", recordedAt: .min, occurredAt: .min, payload: #"{"note":"from 292 million years BC"}"#)
        legacy.seal()
        let hub = try SQLiteEventStore.open(at: store("hub"), logger: StoreFixtures.quietLogger)
        try hub.withConnection("plant a legacy event") { state in
            let connection = state.connection
            try connection.transaction {
                try connection.prepare("INSERT INTO origins (origin, public_key, first_seen) VALUES (?, ?, 0)").run([.text(legacy.origin.hex), .blob(legacy.originKey.publicKey)])
                var scratch: [UInt8] = []
                try SQLiteEventStore.bindInsert(try connection.cached(SQLiteEventStore.insertEventSQL), legacy.events[0], streamVersion: 2, storedAt: 0, scratch: &scratch)
                try SQLiteEventStore.insertSeal(connection, legacy.seals[0], at: 0)
            }
        }
        // Every read command still runs, none traps.
        for arguments in [["log"], ["log", "--json"], ["show", "case:HUB-1"], ["show", "case:HUB-1", "--json"], ["query", "cases"], ["query", "cases", "--json"],
                          ["digest"], ["digest", "--as-of", "2030-01-01"], ["digest", "--valid-at", "2016-01-01"], ["status"], ["status", "--json"], ["projections", "rebuild"], ["export"]] {
            let result = try concord.run(arguments + ["--store", store("hub")])
            #expect(result.status == 0, "\(arguments): exit \(result.status) \(result.stderr.prefix(300))")
        }
        let verify = try concord.run(["verify", "--store", store("hub")])
        #expect(verify.status == 3 && verify.stdout.contains("out-of-range"), "\(verify.stdout)")
        // The hub does not send it (no peer would take it): the puller is told, and gets the rest.
        let pull = try concord.run(["sync", "hub", "--store", store("gm")])
        #expect(pull.status == 76, "\(pull.stderr)")
        #expect(pull.stderr.contains("set aside origin \(legacy.origin)") && pull.stderr.contains("older release"), "\(pull.stderr)")
        #expect(try ok("gm", ["show", "case:HUB-1"]).contains("Held by the hub"))
    }

    @Test func aForkOfferedWithoutASealIsNotKeptAsEvidence() async throws {
        var origin = ForgedOrigin()
        origin.append()
        origin.seal()
        #expect(try await push(origin.lines()).status == 200)
        var other = ForgedOrigin(key: origin.key)
        other.append(payload: #"{"n":"other"}"#)
        let (status, answer) = try await push(other.lines())
        #expect(status == 422 && answer.contains("not evidence of a fork"), "\(answer)")
        #expect(try ok("hub", ["status", "--json"]).contains("\"forks\":0"))
        // Sound and no fork: at most the refused push is listed as set aside.
        let verify = try concord.run(["verify", "--store", store("hub")])
        #expect([0, 3].contains(verify.status) && !verify.stdout.contains("FORK") && !verify.stdout.contains("FAULT"), "\(verify.stdout)")
    }
}
