import AsyncHTTPClient
import ConcordServer
import ConcordTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// docs/openapi.yaml and the server agree: the same routes, each answering as documented.
struct OpenAPIConformanceTests {
    /// `(METHOD, /path)` pairs from the document's `paths:` section.
    static func documentedRoutes() throws -> Set<String> {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var routes = Set<String>()
        var inPaths = false
        var path: String?
        for line in lines {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            for method in ["get", "post", "put", "delete", "patch"] where line == "    \(method):" {
                routes.insert("\(method.uppercased()) \(path ?? "?")")
            }
        }
        return routes
    }

    @Test func theServerAnswersExactlyTheDocumentedRoutes() async throws {
        let documented = try Self.documentedRoutes()
        #expect(documented == Set(SyncServer.routes.map { "\($0.method) \($0.path)" }))
        #expect(documented.count == 8)

        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("openapi")
        let store = directory.file("node.sqlite")
        _ = try concord.run(["init", "--node", "node", "--store", store])
        let token = String(try concord.run(["token", "issue", "tester", "--store", store]).stdout.split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: store)
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))
        do {
            func status(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> UInt {
                var request = HTTPClientRequest(url: server.url + path)
                request.method = method
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                if let body { request.body = .bytes(ByteBuffer(string: body)) }
                return try await http.execute(request, timeout: .seconds(30)).status.code
            }
            #expect(try await status(.GET, "/health") == 200)
            #expect(try await status(.GET, "/metrics") == 200)
            #expect(try await status(.GET, "/v1/vector") == 200)
            #expect(try await status(.POST, "/v1/pull", body: #"{"have":{}}"#) == 200)
            // A push without lines is refused: the document requires its body.
            #expect(try await status(.POST, "/v1/push", body: "") == 422)
            #expect(try await status(.GET, "/v1/stubs") == 200)
            #expect(try await status(.GET, "/v1/stubs?since=-1") == 422)
            #expect(try await status(.POST, "/v1/openings/pull", body: #"{"stubs":[]}"#) == 200)
            // A range whose first seq is past its last names nothing; a seq of 0 is no seq.
            #expect(try await status(.POST, "/v1/openings/pull", body: #"{"stubs":[["00000000000000000000000000000000",2,1]]}"#) == 200)
            #expect(try await status(.POST, "/v1/openings/pull", body: #"{"stubs":[["00000000000000000000000000000000",0,1]]}"#) == 422)
            #expect(try await status(.POST, "/v1/openings/push", body: "") == 422)
            // Anything undocumented is not there: unknown paths 404, other methods on known ones 405.
            #expect(try await status(.GET, "/v1/events") == 404)
            #expect(try await status(.DELETE, "/v1/push") == 405)
            #expect(try await status(.GET, "/v1/../etc/passwd") != 200)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}
