import AsyncHTTPClient
import ConcordSQLite
import ConcordTestSupport
import Foundation
import NIOCore
import Testing

/// The web view's overview verifies its store with `concord verify`'s own code: an insider's
/// edit of an event's data in the store file is shown there as the very lines `verify` prints,
/// and the page says faults were found.
struct WebOverviewVerifyTests {
    @Test func theOverviewShowsWhatVerifyFindsLineForLine() async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("overview-verify")
        let store = directory.file("hub.sqlite")
        func ok(_ arguments: [String]) throws -> String {
            let result = try concord.run(arguments + ["--store", store])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result.stdout
        }
        _ = try ok(["init", "--node", "hub"])
        for index in 1...3 { _ = try ok(["append", "notes:hub", "note.added", "--data", #"{"note":"entry \#(index)"}"#]) }
        let token = try #require(try ok(["token", "issue", "auditor", "--read-only"]).split(separator: "\n").last.map(String.init))

        // The insider, with sqlite3 on the file: the append-only guard dropped, one note rewritten.
        let raw = try SQLiteConnection(path: store, flags: [.readWrite])
        try raw.execute("DROP TRIGGER events_refuse_update")
        try raw.execute("UPDATE events SET data = replace(data, 'entry 2', 'entry X') WHERE stream = 'notes:hub'")
        let verify = try concord.run(["verify", "--store", store])
        #expect(verify.status == 1, "\(verify.stdout)")
        let verifyLines = verify.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("FAILED") }
        #expect(verifyLines.contains { $0.hasPrefix("FAULT origin ") && $0.contains("seq 2") }, "\(verify.stdout)")

        let server = try ServerProcess(concord, store: store)
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            var request = HTTPClientRequest(url: server.url + "/view")
            request.headers.add(name: "Cookie", value: "concord_view=\(token)")
            let response = try await http.execute(request, timeout: .seconds(60))
            let page = String(buffer: try await response.body.collect(upTo: 8 << 20))
            #expect(response.status.code == 200)
            #expect(page.contains("faults found"), "\(page.prefix(800))")
            let shown = page.matches(of: /<li class="fault">([^<]*)<\/li>/).map { String($0.output.1) }
            #expect(shown.map(Self.unescaped) == verifyLines, "overview: \(shown)\nverify: \(verifyLines)")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    /// The page's text as written before HTML escaping (Mustache escapes &, <, >, " and ').
    static func unescaped(_ html: String) -> String {
        html.replacing("&quot;", with: "\"").replacing("&#39;", with: "'").replacing("&lt;", with: "<")
            .replacing("&gt;", with: ">").replacing("&amp;", with: "&")
    }
}
