import ConcordCore
import ConcordSyncProtocol
import ConcordTestSupport
import ConcordZlib
import Foundation
import NIOHTTP1
import Testing

/// More kinds of hostile request (the hostile-input corpus of docs/reliability.md): wrong methods
/// and paths, path traversal, oversized headers, a slow body, invalid UTF-8, numbers out of
/// range, replays, unknown origins, mixed good and bad events, bad pull parameters. Each is
/// refused (or, for a replay or an empty body, harmlessly accepted), the server keeps answering,
/// and nothing stored changes.
extension HostileHub {
    var port: Int { Int(server.url.split(separator: ":").last ?? "") ?? 0 }

    /// A request the server's router or HTTP layer turns away (not a protocol JSON error).
    func expectTurnedAway(_ request: String, statuses: ClosedRange<Int> = 400...499, _ what: String) throws {
        let before = try hubState()
        let connection = try RawHTTPConnection(port: port)
        connection.send(request)
        // Every request is answered (a closed connection with no status is a failure too).
        let status = try #require(connection.status(), "\(what): no answer")
        #expect(statuses.contains(status), "\(what): status \(status)")
        #expect(try RawHTTPConnection(port: port).healthy(), "\(what): the server stopped answering")
        #expect(try hubState() == before, "\(what): the store changed")
    }

    func wrongMethodsPathsAndTraversal() throws {
        try expectTurnedAway("GET /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n", "GET on /v1/push")
        try expectTurnedAway("PUT /v1/pull HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", "PUT on /v1/pull")
        try expectTurnedAway("DELETE /v1/vector HTTP/1.1\r\nHost: x\r\n\r\n", "DELETE on /v1/vector")
        try expectTurnedAway("GET /v2/push HTTP/1.1\r\nHost: x\r\n\r\n", "an unknown path")
        try expectTurnedAway("GET /v1/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "path traversal")
        try expectTurnedAway("GET /v1/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "encoded path traversal")
        try expectTurnedAway("GET /v1/vector/..%2f..%2fhub.sqlite HTTP/1.1\r\nHost: x\r\n\r\n", "traversal towards the store file")
        try expectTurnedAway("BREW /v1/pull HTTP/1.1\r\nHost: x\r\n\r\n", "an unknown method")
        try expectTurnedAway("this is not http\r\n\r\n", statuses: 400...499, "not HTTP at all")
    }

    func undeclaredMethodsOnDeclaredPathsAre405WithAllow() throws {
        for (request, allow) in [("DELETE /v1/push", "POST"), ("GET /v1/pull", "POST"), ("POST /v1/vector", "GET"), ("PUT /health", "GET"), ("TRACE /metrics", "GET")] {
            let connection = try RawHTTPConnection(port: port)
            connection.send("\(request) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            let head = try #require(connection.head(), "\(request): no answer")
            #expect(head.status == 405, "\(request): \(head.status)")
            #expect(head.headers["allow"] == allow, "\(request): \(head.headers)")
        }
        let unknown = try RawHTTPConnection(port: port)
        unknown.send("GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(unknown.head()?.status == 404)
    }

    func hugeHeadersAndASlowBody() throws {
        let before = try hubState()
        let junk = String(repeating: "x", count: 300_000)
        try expectTurnedAway("POST /v1/push HTTP/1.1\r\nHost: x\r\nX-Junk: \(junk)\r\nContent-Length: 0\r\n\r\n", statuses: 400...499, "a 300 KB header")
        // A peer that sends its headers and a little body, then nothing: others are still served.
        let slow = try RawHTTPConnection(port: port, timeoutSeconds: 2)
        slow.send("POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: 100000\r\n\r\n{\"kind\":")
        #expect(try RawHTTPConnection(port: port).healthy(), "a slow body blocked the server")
        #expect(try hubState() == before)
    }

    func invalidUTF8AndNumbersOutOfRange() async throws {
        var invalid = body(goodLines)
        let at = try #require(invalid.firstIndex(of: UInt8(ascii: "\"")))
        invalid.insert(contentsOf: [0xC3, 0x28, 0xFF], at: at + 1)
        try await expectRefused(invalid, token: token, status: 422, code: "invalid-json", mentioning: "line 1")
        try await expectRefused(path: "/v1/pull", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], token: token, status: 422, code: "invalid-json", mentioning: "UTF-8")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing("\"seq\":1", with: "\"seq\":99999999999999999999999") }), token: token, status: 422, code: "invalid-json", mentioning: "seq")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing("\"seq\":1", with: "\"seq\":-1") }), token: token, status: 422, code: "invalid-json", mentioning: "seq")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing("\"seq\":1", with: "\"seq\":1.5") }), token: token, status: 422, code: "invalid-json", mentioning: "seq")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing("\"seq\":1", with: "\"seq\":1e400") }), token: token, status: 422, code: "invalid-json", mentioning: "seq")
    }

    func wrongShapesOfEvents() async throws {
        try await expectRefused(body(mutated(0) { $0 = $0.replacing(#""data":{"n":1}"#, with: #""data":[1]"#) }), token: token, status: 422, code: "invalid-json", mentioning: "data")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing(#""stream":"notes:region""#, with: #""stream":"not a stream id""#) }), token: token, status: 422, code: "invalid-argument", mentioning: "stream id")
        try await expectRefused(body(mutated(0) { $0 = $0.replacing(#""kind":"event","#, with: "") }), token: token, status: 422, code: "invalid-json", mentioning: "kind")
        try await expectRefused(body([#"{"kind":"event"}"#]), token: token, status: 422, code: "invalid-json", mentioning: "line 1")
        try await expectRefused(body(["null"]), token: token, status: 422, code: "invalid-json", mentioning: "line 1")
        try await expectRefused(body([#"{"kind":"seal","origin":"zz","seq":1}"#]), token: token, status: 422, code: "invalid-argument", mentioning: "origin id")
    }

    func batchesThatMixGoodAndBadOrComeFromNowhere() async throws {
        // The last event altered: the five good ones before it are not stored either.
        try await expectRefused(body(mutated(5) { $0 = $0.replacing("\"n\":6", with: "\"n\":66") }), token: token, status: 422, code: "invalid-event", mentioning: "does not match its hash")
        // Events of an origin whose key the batch does not carry.
        try await expectRefused(body(goodLines.filter { !$0.contains("\"kind\":\"origin\"") }), token: token, status: 422, code: "invalid-event", mentioning: "no public key")
        // The same event twice in one batch.
        let eventLine = try #require(goodLines.first { $0.contains("\"kind\":\"event\"") })
        try await expectRefused(body(goodLines + [eventLine]), token: token, status: 422, code: "invalid-event", mentioning: "offered twice")
        // A seal whose hash is not the event's.
        let sealIndex = try #require(goodLines.lastIndex { $0.contains("\"kind\":\"seal\"") })
        var badSeal = goodLines
        let hashAt = try #require(badSeal[sealIndex].range(of: "\"hash\":\"")).upperBound
        badSeal[sealIndex].replaceSubrange(hashAt...hashAt, with: badSeal[sealIndex][hashAt] == "0" ? "1" : "0")
        try await expectRefused(body(badSeal), token: token, status: 422, code: "invalid-event", mentioning: "seal")
    }

    func replaysChangeNothingAndEmptyBodiesAreRefused() async throws {
        let (first, _) = try await send("/v1/push", body(goodLines), token: token)
        #expect(first == 200)
        let after = try hubState()
        for _ in 0..<3 {
            let (status, answer) = try await send("/v1/push", Zlib.compress(body(goodLines), format: .gzip), token: token, encoding: "gzip")
            #expect(status == 200)
            #expect(try SyncWire.PushResult(json: answer).accepted == 0)
        }
        #expect(try hubState() == after)
        // A push must carry lines: an empty one is refused (the API says its body is required).
        try await expectRefused([], token: token, status: 422, code: "invalid-json", mentioning: "holds no events")
    }

    func badPullParameters() async throws {
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{},"maxEvents":0}"#.utf8), token: token, status: 422, code: "invalid-json", mentioning: "maxEvents")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{},"maxEvents":"ten"}"#.utf8), token: token, status: 422, code: "invalid-json", mentioning: "maxEvents")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{},"waitSeconds":-1}"#.utf8), token: token, status: 422, code: "invalid-json", mentioning: "waitSeconds")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":[1,2]}"#.utf8), token: token, status: 422, code: "invalid-json", mentioning: "have")
        try await expectRefused(path: "/v1/pull", Array(#"[]"#.utf8), token: token, status: 422, code: "invalid-json", mentioning: "object")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{},"have":{}}"#.utf8), token: token, status: 422, code: "invalid-json", mentioning: "duplicate")
        try await expectRefused(path: "/v1/pull", Array(#"{"have":{}}"#.utf8), token: "Basic dXNlcjpwYXNz", status: 401, code: "unauthorized", mentioning: "token")
    }
}

extension RawHTTPConnection {
    /// Whether GET /health answers 200 on this connection.
    func healthy() -> Bool {
        send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        return status() == 200
    }
}
