import AsyncHTTPClient
import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import NIOCore
import Testing

/// Secrets and operations: where tokens are kept, how they are given and revoked, what exports
/// overwrite, and the server's timeouts and caps, against real processes.
struct OperationsTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("operations")
    }

    func store(_ node: String) -> String { directory.file("\(node).sqlite") }

    @discardableResult
    func run(_ node: String, _ arguments: [String], expect status: Int32 = 0, stdin: String? = nil, environment: [String: String] = [:]) throws -> ConcordExecutable.Result {
        let result = try concord.run(arguments + ["--store", store(node)], environment: environment, stdin: stdin)
        #expect(result.status == status, "\(node) \(arguments.prefix(3)): exit \(result.status), expected \(status): \(result.stderr)")
        return result
    }

    func token(_ peer: String, on hub: String = "hub") throws -> String {
        String(try run(hub, ["token", "issue", peer]).stdout.split(separator: "\n").last ?? "")
    }

    /// Every byte of a store: its file and its WAL.
    func bytes(of node: String) -> Data {
        (FileManager.default.contents(atPath: store(node)) ?? Data()) + (FileManager.default.contents(atPath: store(node) + "-wal") ?? Data())
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func peerTokensAreKeptBesideTheStoreNotInItAndNeverOnTheCommandLine() throws {
        for node in ["hub", "wy"] { try run(node, ["init", "--node", node]) }
        let server = try ServerProcess(concord, store: store("hub"))
        defer { server.stop() }
        let secret = try token("wy")
        // From standard input (or a file, or $CONCORD_PEER_TOKEN): never an argument ps shows.
        try run("wy", ["peer", "add", "hub", server.url, "--token-file", "-"], stdin: secret + "\n")
        #expect(try run("wy", ["sync", "hub"]).stdout.contains("Synced with hub"))
        #expect(bytes(of: "wy").range(of: Data(secret.utf8)) == nil, "the token is in the store file")
        let file = store("wy") + ".peers"
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains(secret))
        #expect(try mode(file) == 0o600)
        // $CONCORD_PEER_TOKEN with a URL.
        #expect(try run("wy", ["sync", server.url], environment: ["CONCORD_PEER_TOKEN": secret]).stdout.contains("Synced"))
        // --token still works for trying things out, and warns.
        let warned = try run("wy", ["sync", server.url, "--token", secret])
        #expect(warned.stderr.contains("visible to other users"))
    }

    @Test func aTokenAnEarlierReleaseKeptInTheStoreIsMovedOutOfIt() throws {
        try run("wy", ["init", "--node", "wy"])
        let secret = "concord_" + String(repeating: "ab", count: 32)
        // As an earlier release stored it: in the peers table.
        let old = try SQLiteEventStore.open(at: store("wy"), logger: StoreFixtures.quietLogger)
        try old.withConnection("plant an old peer") { state in
            try state.connection.prepare("INSERT INTO peers (name, url, token, added_at) VALUES ('hub', 'http://127.0.0.1:1', ?, 0)").run([.text(secret)])
        }
        #expect(bytes(of: "wy").range(of: Data(secret.utf8)) != nil)
        // The next open moves it.
        #expect(try run("wy", ["peer", "list"]).stdout.contains("hub"))
        #expect(try String(contentsOfFile: store("wy") + ".peers", encoding: .utf8).contains(secret))
        #expect(bytes(of: "wy").range(of: Data(secret.utf8)) == nil, "the old token is still in the store's bytes")
    }

    @Test func tokensAreListedAndRevoked() async throws {
        try run("hub", ["init", "--node", "hub"])
        let secret = try token("wy")
        _ = try token("auditor")
        let list = try run("hub", ["token", "list", "--json"]).stdout
        #expect(list.contains("\"peer\":\"wy\"") && list.contains("\"peer\":\"auditor\"") && !list.contains(secret))
        let server = try ServerProcess(concord, store: store("hub"))
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))
        // Shut down however the body ends: a client left running stops the whole test process.
        do {
            func vectorStatus(_ authorization: String) async throws -> UInt {
                var request = HTTPClientRequest(url: server.url + "/v1/vector")
                request.headers.add(name: "Authorization", value: authorization)
                return try await http.execute(request, timeout: .seconds(60)).status.code
            }
            // The scheme is case-insensitive.
            #expect(try await vectorStatus("Bearer \(secret)") == 200)
            #expect(try await vectorStatus("bearer \(secret)") == 200)
            #expect(try await vectorStatus("BEARER \(secret)") == 200)
            #expect(try await vectorStatus("Basic \(secret)") == 401)
            try run("hub", ["token", "revoke", "wy"])
            #expect(try await vectorStatus("Bearer \(secret)") == 401)
            try run("hub", ["token", "revoke", "wy"], expect: 67)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test func exportsAreNewPrivateFilesUnlessForced() throws {
        try run("wy", ["init", "--node", "wy"])
        try run("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        let out = directory.file("wy.ndjson")
        try "keep me\n".write(toFile: out, atomically: true, encoding: .utf8)
        let refused = try run("wy", ["export", "--out", out], expect: 73)
        #expect(refused.stderr.contains("--force"))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep me\n")
        try run("wy", ["export", "--out", out, "--force"])
        #expect(try String(contentsOfFile: out, encoding: .utf8).contains("case:WY-1"))
        #expect(try mode(out) == 0o600)
        let fresh = directory.file("fresh.ndjson")
        try run("wy", ["export", "--out", fresh])
        #expect(try mode(fresh) == 0o600)
    }

    @Test func aClientTooSlowToSendItsRequestIsDisconnected() throws {
        try run("hub", ["init", "--node", "hub"])
        let server = try ServerProcess(concord, store: store("hub"), extraArguments: ["--read-timeout", "1"])
        defer { server.stop() }
        let port = Int(server.url.split(separator: ":").last ?? "") ?? 0
        let slow = try RawHTTPConnection(port: port, timeoutSeconds: 20)
        slow.send("GET /v1/vector HTTP/1.1\r\nHost: x\r\n")
        let started = ContinuousClock.now
        // The head never completes: the server closes the connection (no answer), well before
        // the 20 s this client would wait.
        #expect(slow.head() == nil)
        #expect(ContinuousClock.now - started < .seconds(15))
        // Others are served meanwhile and after.
        #expect(try RawHTTPConnection(port: port).healthy())
    }

    /// A request answered before its body has all come (401 here) must not leave the connection
    /// without a deadline: the next request head is due within the read timeout too.
    @Test func aConnectionAnsweredEarlyStillTimesOutItsNextHead() throws {
        try run("hub", ["init", "--node", "hub"])
        let server = try ServerProcess(concord, store: store("hub"), extraArguments: ["--read-timeout", "1"])
        defer { server.stop() }
        let port = Int(server.url.split(separator: ":").last ?? "") ?? 0
        let slow = try RawHTTPConnection(port: port, timeoutSeconds: 20)
        slow.send("POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1\r\n\r\n")
        #expect(slow.head()?.status == 401)
        // The body's one byte ends the request; then a second head is begun and never finished.
        let started = ContinuousClock.now
        #expect(slow.send("{"))
        slow.send("GET /v1/vector HTTP/1.1\r\nHost: x\r\n")
        // Whatever is left of the 401's body is read, then the server closes the connection.
        #expect(slow.head() == nil)
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(try RawHTTPConnection(port: port).healthy())
    }

    @Test func aPeerWithTooManyRequestsAtOnceIsAnswered429() async throws {
        try run("hub", ["init", "--node", "hub"])
        let secret = try token("wy")
        let server = try ServerProcess(concord, store: store("hub"), extraArguments: ["--max-requests-per-peer", "1"])
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))
        do {
            func pull(wait: Int) async throws -> (UInt, String) {
                var request = HTTPClientRequest(url: server.url + "/v1/pull")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(secret)")
                request.body = .bytes(ByteBuffer(string: #"{"have":{},"waitSeconds":\#(wait)}"#))
                let response = try await http.execute(request, timeout: .seconds(30))
                var text = ""
                for try await chunk in response.body { text += String(buffer: chunk) }
                return (response.status.code, text)
            }
            // Two long polls of the same peer at once: one holds the peer's one slot (and is answered
            // when its wait ends), the other is turned away at once.
            async let first = pull(wait: 10)
            async let second = pull(wait: 10)
            let answers = [try await first, try await second]
            #expect(answers.map(\.0).sorted() == [200, 429], "\(answers)")
            #expect(answers.contains { $0.0 == 429 && $0.1.contains("too-many-requests") })
            #expect(try await pull(wait: 0).0 == 200, "the slot is free again")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
