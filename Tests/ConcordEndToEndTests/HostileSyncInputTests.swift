import AsyncHTTPClient
import ConcordCore
import ConcordPostgres
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import ConcordZlib
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The hubs the hostile corpus runs against: a store file, and PostgreSQL when
/// `$CONCORD_TEST_POSTGRES_URL` names a server (always in CI).
enum HubKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }
    static var underTest: [HubKind] { PostgresTestDatabase.server == nil ? [.sqlite] : allCases }
}

/// A real `concord serve` to send hostile requests to, on a store of either kind, holding one
/// case recorded at the hub (copied to PostgreSQL with `concord copy` for a PostgreSQL hub).
final class HostileHub {
    let kind: HubKind
    let hubStore: String
    let concord: ConcordExecutable
    let directory: TemporaryDirectory
    let server: ServerProcess
    let http: HTTPClient
    let token: String
    let readOnlyToken: String
    let regionKey: NodeKey
    /// A good batch from another node: keys, 6 events, seals (its last line is a seal).
    let goodLines: [String]

    /// Runs `body` against a hub of `kind`, stopped (and its database dropped) after.
    static func with(_ kind: HubKind, _ body: (HostileHub) async throws -> Void) async throws {
        switch kind {
        case .sqlite:
            let hub = try HostileHub(kind: kind, database: nil)
            defer { hub.stop() }
            try await body(hub)
        case .postgres:
            try await PostgresTestDatabase.with { location in
                let hub = try HostileHub(kind: kind, database: location)
                defer { hub.stop() }
                try await body(hub)
            }
        }
    }

    init(kind: HubKind, database: PostgresLocation?) throws {
        self.kind = kind
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("hostile")
        let hub = directory.file("hub.sqlite")
        let region = directory.file("region.sqlite")
        _ = try concord.run(["init", "--node", "hub", "--store", hub])
        _ = try concord.run(["init", "--node", "region", "--store", region])
        _ = try concord.run(["case", "open", "HUB-1", "--title", "Held by the hub", "--region", "National", "--store", hub])
        for index in 1...6 {
            _ = try concord.run(["append", "notes:region", "note.added", "--data", #"{"n":\#(index)}"#, "--store", region])
        }
        let export = directory.file("region.ndjson")
        _ = try concord.run(["export", "--out", export, "--store", region])
        goodLines = try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n").map(String.init)
        regionKey = try #require(try NodeKeyFile.read(at: region + ".key"))
        if let database {
            let copied = try concord.run(["copy", "--from", hub, "--to", database.description])
            guard copied.status == 0 else { throw ConcordError(.storage, "copy to PostgreSQL failed: \(copied.stderr)") }
            hubStore = database.description
        } else {
            hubStore = hub
        }
        token = String(try concord.run(["token", "issue", "region", "--store", hubStore]).stdout.split(separator: "\n").last ?? "")
        readOnlyToken = String(try concord.run(["token", "issue", "auditor", "--read-only", "--store", hubStore]).stdout.split(separator: "\n").last ?? "")
        // The protocol's floor for every limit (1000 events, 8 MiB): the smallest a server may set.
        server = try ServerProcess(concord, store: hubStore, extraArguments: ["--max-batch-events", "1000", "--max-body-bytes", "\(8 << 20)", "--max-inflated-bytes", "\(8 << 20)"])
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))
    }

    func stop() {
        server.stop()
        try? http.syncShutdown()
    }

    func send(_ path: String, _ body: [UInt8]?, token: String?, encoding: String? = nil, method: HTTPMethod = .POST) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: server.url + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let encoding { request.headers.add(name: "Content-Encoding", value: encoding) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        var text = ""
        for try await chunk in response.body { text += String(buffer: chunk) }
        return (Int(response.status.code), text)
    }

    /// What the hub holds: its read-model digest and its whole log (on PostgreSQL, where `log`
    /// does not run, what its verify counts: events, seals, origins, faults; the evidence a
    /// refusal keeps, set-aside rows and fork proofs, is bookkeeping and may change).
    func hubState() throws -> String {
        let digest = try concord.run(["digest", "--store", hubStore]).stdout
        guard kind == .postgres else { return digest + (try concord.run(["log", "--json", "--store", hubStore]).stdout) }
        let report = try JSONValue(parsing: try concord.run(["verify", "--json", "--store", hubStore]).stdout)
        return digest + ["events", "seals", "origins", "faults", "valid"].map { "\($0)=\(report[$0].map { "\($0)" } ?? "-")" }.joined(separator: " ")
    }

    /// Sends a bad request and checks the refusal, that the server still answers, and that nothing changed.
    func expectRefused(path: String = "/v1/push", _ body: [UInt8]?, token: String??, encoding: String? = nil, status: Int, code: String, mentioning text: String) async throws {
        let before = try hubState()
        let (got, answer) = try await send(path, body, token: token ?? self.token, encoding: encoding)
        #expect(got == status, "expected \(status) for \(code), got \(got): \(answer)")
        let error = try? JSONValue(parsing: answer)
        #expect(error?["error"]?["code"] == .string(code), "\(answer)")
        #expect(error?["error"]?["message"]?.stringValue?.contains(text) == true, "\(answer)")
        let (health, _) = try await send("/health", nil, token: nil, method: .GET)
        #expect(health == 200)
        #expect(try hubState() == before)
    }

    func body(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    /// The event lines with one changed.
    func mutated(_ index: Int, _ change: (inout String) -> Void) -> [String] {
        var lines = goodLines
        let eventIndexes = lines.indices.filter { lines[$0].contains("\"kind\":\"event\"") }
        change(&lines[eventIndexes[index]])
        return lines
    }

    /// A checkpoint line out of its ranges refuses its whole push, with one code whichever range
    /// it breaks (the number's edge included); one in range whose signature does not verify is
    /// left out and the rest stored (docs/audit.md).
    func checkpointLinesOutOfTheirRanges() async throws {
        let events = try goodLines.filter { $0.contains("\"kind\":\"event\"") }.map { try Event(exchange: try JSONValue(parsing: $0)) }
        let head = Checkpoint.Head(origin: regionKey.origin, seq: events.last!.seq, hash: events.last!.hash)
        func line(number: UInt64 = 1, node: String = "region", takenAt: Int64 = 1_700_000_000_000) -> String {
            Checkpoint.sign(key: regionKey, node: node, number: number, takenAt: takenAt, heads: [head]).exchangeJSON
        }
        for (name, bad) in [
            ("number 2^63 - 1", line(number: UInt64(Int64.max))), ("number 0", line(number: 0)),
            ("a node name over the limit", line(node: String(repeating: "n", count: EventLimits.maxLabelBytes + 1))), ("an empty node name", line(node: "")),
        ] {
            try await expectRefused(body(goodLines + [bad]), token: token, status: 422, code: "invalid-json", mentioning: "checkpoint")
            _ = name
        }
        // In range, but signed by another key: left out; the events are stored.
        var forged = try JSONValue(parsing: line(number: 2))
        if case .object(var fields) = forged {
            fields["signature"] = .string(Hex.encode(NodeKey().sign([1])))
            forged = .object(fields)
        }
        let (status, answer) = try await send("/v1/push", body(goodLines + [forged.canonicalText]), token: token)
        #expect(status == 200, "\(answer)")
        #expect(try SyncWire.PushResult(json: answer).accepted == 6)
        // A malformed origin id in a checkpoint line is invalid-json too, like every other field.
        let badSigner = line(number: 3).replacing(#/"signer":"[0-9a-f]{32}"/#, with: #""signer":"not-an-origin""#)
        try await expectRefused(body([badSigner]), token: token, status: 422, code: "invalid-json", mentioning: "origin")
        // A push whose every origin is refused but whose checkpoint is stored is no error: it is
        // answered 200, listing the refusal (an error answer stores nothing).
        var stranger = ForgedOrigin()
        stranger.append()
        let refusedPart = [stranger.originKey.exchangeJSON, stranger.events[0].exchangeJSON]
        // (Of the region's fifth event: its sixth is named by a checkpoint the export carried.)
        let fifth = Checkpoint.Head(origin: regionKey.origin, seq: events[4].seq, hash: events[4].hash)
        let claim = Checkpoint.sign(key: regionKey, node: "region", number: 1000, takenAt: 1_700_000_000_004, heads: [fifth]).exchangeJSON
        // The same on both backends: a PostgreSQL hub keeps checkpoints too.
        let (mixed, mixedAnswer) = try await send("/v1/push", body(refusedPart + [claim]), token: token)
        #expect(mixed == 200, "\(mixedAnswer)")
        let result = try SyncWire.PushResult(json: mixedAnswer)
        #expect(result.accepted == 0 && result.refused.map(\.origin) == [stranger.origin], "\(mixedAnswer)")
    }

    func aGoodPushIsAcceptedOnceThenHeld() async throws {
        let (status, answer) = try await send("/v1/push", Zlib.compress(body(goodLines), format: .gzip), token: token, encoding: "gzip")
        #expect(status == 200, "\(answer)")
        #expect(try SyncWire.PushResult(json: answer).accepted == 6)
        let (again, replayed) = try await send("/v1/push", body(goodLines), token: token)
        #expect(again == 200)
        #expect(try SyncWire.PushResult(json: replayed) == SyncWire.PushResult(accepted: 0, alreadyHeld: 6, vector: SyncWire.PushResult(json: answer).vector))
        let (_, metrics) = try await send("/metrics", nil, token: nil, method: .GET)
        #expect(metrics.contains("concord_events_accepted_total 6"), "\(metrics)")
        #expect(metrics.contains("concord_bytes_in_total"))
    }

    func authentication() async throws {
        try await expectRefused(body(goodLines), token: .some(nil), status: 401, code: "unauthorized", mentioning: "no token")
        try await expectRefused(body(goodLines), token: "concord_not-a-real-token", status: 401, code: "unauthorized", mentioning: "not one this node issued")
        try await expectRefused(body(goodLines), token: readOnlyToken, status: 403, code: "forbidden", mentioning: "read-only")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{}}"#.utf8), token: .some(nil), status: 401, code: "unauthorized", mentioning: "no token")
    }

    func encodings() async throws {
        let gz = Zlib.compress(body(goodLines), format: .gzip)
        try await expectRefused(gz, token: token, encoding: "br", status: 415, code: "unsupported-encoding", mentioning: "br")
        try await expectRefused(Array(gz.prefix(gz.count / 2)), token: token, encoding: "gzip", status: 400, code: "invalid-encoding", mentioning: "truncated")
        try await expectRefused(Array("plainly not gzip".utf8), token: token, encoding: "gzip", status: 400, code: "invalid-encoding", mentioning: "corrupt")
        let bomb = Zlib.compress([UInt8](repeating: 0x20, count: 40 << 20), format: .gzip, level: 9)
        #expect(bomb.count < 100_000)
        try await expectRefused(bomb, token: token, encoding: "gzip", status: 413, code: "too-large", mentioning: "inflates")
        let deflated = Zlib.compress(body(goodLines), format: .deflate)
        let (status, _) = try await send("/v1/push", deflated, token: token, encoding: "deflate")
        #expect(status == 200)
    }

    func sizeLimits() async throws {
        try await expectRefused([UInt8](repeating: 0x0a, count: 9 << 20), token: token, status: 413, code: "too-large", mentioning: "larger than 8388608 bytes")
        let longLine = #"{"kind":"event","x":""# + String(repeating: "a", count: SyncLimits.maxLineBytes) + "\"}"
        try await expectRefused(body([longLine]), token: token, status: 413, code: "too-large", mentioning: "longer than")
        // 1001 events where 1000 are allowed: another node's log with 1001 events.
        let region2 = directory.file("region2.sqlite")
        _ = try concord.run(["init", "--node", "region2", "--store", region2])
        _ = try concord.run(["import", "--new", "-", "--store", region2], stdin: (1...1001).map { #"{"stream":"notes:x","type":"note","data":{"n":\#($0)}}"# }.joined(separator: "\n"))
        let export = directory.file("region2.ndjson")
        _ = try concord.run(["export", "--out", export, "--store", region2])
        let many = try String(contentsOfFile: export, encoding: .utf8)
        try await expectRefused(Array(many.utf8), token: token, status: 413, code: "too-large", mentioning: "more than 1000 events")
    }

    func malformedInput() async throws {
        try await expectRefused(Array("{not json\n".utf8), token: token, status: 422, code: "invalid-json", mentioning: "line 1")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing("\"seq\":1", with: "\"seq\":\"one\"") }), token: token, status: 422, code: "invalid-json", mentioning: "\"seq\" must be an integer")
        try await expectRefused(body(goodLines + [#"{"kind":"mystery"}"#]), token: token, status: 422, code: "invalid-json", mentioning: "\"kind\" must be")
        try await expectRefused(body(["[1,2,3]"]), token: token, status: 422, code: "invalid-json", mentioning: "line 1")
        try await expectRefused(body([#"{"kind":"event","kind":"seal"}"#]), token: token, status: 422, code: "invalid-json", mentioning: "duplicate key")
        try await expectRefused(body([String(repeating: "[", count: 200)]), token: token, status: 422, code: "invalid-json", mentioning: "nested deeper")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{"x":1}}"#.utf8), token: token, status: 422, code: "invalid-argument", mentioning: "origin id")
    }

    func eventsThatDoNotVerify() async throws {
        try await expectRefused(body(mutated(2) { $0 = $0.replacing("\"n\":3", with: "\"n\":33") }), token: token, status: 422, code: "invalid-event", mentioning: "does not match its hash")
        var gap = goodLines
        gap.removeAll { $0.contains("\"kind\":\"event\"") && $0.contains("\"seq\":2,") }
        try await expectRefused(body(gap), token: token, status: 422, code: "invalid-event", mentioning: "gap")
        // A seal signed by another key.
        let stranger = NodeKey()
        let forgedSeals = goodLines.map { line -> String in
            guard line.contains("\"kind\":\"seal\""), let seal = try? Seal(exchange: JSONValue(parsing: line)) else { return line }
            var forged = seal
            forged.signature = stranger.sign(seal.signedBytes)
            return forged.exchangeJSON
        }
        try await expectRefused(body(forgedSeals), token: token, status: 422, code: "invalid-event", mentioning: "does not verify")
        // Events with no seal at all.
        try await expectRefused(body(goodLines.filter { !$0.contains("\"kind\":\"seal\"") }), token: token, status: 422, code: "invalid-event", mentioning: "no seal covers")
        // A pinned origin (its key hashes to its id) claimed with another key.
        let impostor = OriginKey(origin: regionKey.origin, publicKey: stranger.publicKey).exchangeJSON
        try await expectRefused(body([impostor] + goodLines.filter { !$0.contains("\"kind\":\"origin\"") }), token: token, status: 422, code: "invalid-event", mentioning: "does not hash to that origin")
    }

    func aForkIsRefusedAndKeptAsEvidence() async throws {
        let (status, _) = try await send("/v1/push", body(goodLines), token: token)
        #expect(status == 200)
        // The region's own key signs a different first event: two events claim (origin, 1).
        var chain = OriginChain(key: regionKey, lastSeq: 0, lastHash: .genesis)
        let draft = try EventDraft(stream: StreamID("notes:region"), type: EventType("note.added"), data: .object(["n": .number("999")]), actor: "x", occurredAt: 0)
        let forked = chain.append(draft, hlc: HLCTimestamp(wallMillis: 1), recordedAt: 0, prev: [])
        let batch = BatchWriter.lines(IngestBatch(keys: [regionKey.originKey], events: [forked], seals: [chain.sealHead()]))
        try await expectRefused(Array(batch.utf8), token: token, status: 409, code: "fork", mentioning: "fork")
        if kind == .sqlite {
            let status2 = try concord.run(["status", "--json", "--store", hubStore]).stdout
            #expect(status2.contains("\"forks\":1"), "\(status2)")
        }
        let verify = try concord.run(["verify", "--store", hubStore])
        #expect(verify.stdout.contains("FORK origin \(regionKey.origin) seq 1"), "\(verify.stdout)")
    }

    func curlStyleCompressedPullsWork() async throws {
        var request = HTTPClientRequest(url: server.url + "/v1/pull")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept-Encoding", value: "gzip, deflate")
        request.body = .bytes(ByteBuffer(string: #"{"have":{}}"#))
        let response = try await http.execute(request, timeout: .seconds(30))
        #expect(response.headers.first(name: "Content-Encoding") == "gzip")
        var compressed: [UInt8] = []
        for try await chunk in response.body { compressed += chunk.readableBytesView }
        let text = String(decoding: try Zlib.decompress(compressed, format: .gzip), as: UTF8.self)
        #expect(text.contains("\"stream\":\"case:HUB-1\""))
        #expect(text.hasSuffix("\n") && text.split(separator: "\n").last?.contains("\"kind\":\"end\"") == true)
    }
}

/// Every limit and check of the sync API against a real `concord serve`, on each kind of hub:
/// each bad request gets its status code and a JSON error, the server goes on answering, and
/// nothing stored changes (the corpus is `HostileHub`'s methods, here and in HostileCorpusTests).
@Suite(.serialized) struct HostileSyncInputTests {
    @Test(arguments: HubKind.underTest) func aGoodPushIsAcceptedOnceThenHeld(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.aGoodPushIsAcceptedOnceThenHeld() } }
    @Test(arguments: HubKind.underTest) func authentication(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.authentication() } }
    @Test(arguments: HubKind.underTest) func encodings(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.encodings() } }
    @Test(arguments: HubKind.underTest) func sizeLimits(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.sizeLimits() } }
    @Test(arguments: HubKind.underTest) func malformedInput(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.malformedInput() } }
    @Test(arguments: HubKind.underTest) func eventsThatDoNotVerify(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.eventsThatDoNotVerify() } }
    @Test(arguments: HubKind.underTest) func aForkIsRefusedAndKeptAsEvidence(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.aForkIsRefusedAndKeptAsEvidence() } }
    @Test(arguments: HubKind.underTest) func curlStyleCompressedPullsWork(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.curlStyleCompressedPullsWork() } }
    @Test(arguments: HubKind.underTest) func wrongMethodsPathsAndTraversal(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try $0.wrongMethodsPathsAndTraversal() } }
    @Test(arguments: HubKind.underTest) func undeclaredMethodsOnDeclaredPathsAre405WithAllow(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try $0.undeclaredMethodsOnDeclaredPathsAre405WithAllow() } }
    @Test(arguments: HubKind.underTest) func hugeHeadersAndASlowBody(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try $0.hugeHeadersAndASlowBody() } }
    @Test(arguments: HubKind.underTest) func invalidUTF8AndNumbersOutOfRange(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.invalidUTF8AndNumbersOutOfRange() } }
    @Test(arguments: HubKind.underTest) func wrongShapesOfEvents(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.wrongShapesOfEvents() } }
    @Test(arguments: HubKind.underTest) func batchesThatMixGoodAndBadOrComeFromNowhere(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.batchesThatMixGoodAndBadOrComeFromNowhere() } }
    @Test(arguments: HubKind.underTest) func replaysChangeNothingAndEmptyBodiesAreRefused(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.replaysChangeNothingAndEmptyBodiesAreRefused() } }
    @Test(arguments: HubKind.underTest) func badPullParameters(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.badPullParameters() } }
    @Test(arguments: HubKind.underTest) func checkpointLinesOutOfTheirRanges(_ kind: HubKind) async throws { try await HostileHub.with(kind) { try await $0.checkpointLinesOutOfTheirRanges() } }
}
