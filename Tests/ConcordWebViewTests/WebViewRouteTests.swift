import ConcordCore
import ConcordProjections
@testable import ConcordWebView
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The web view's routes in process (HummingbirdTesting): who gets in, what a page escapes,
/// what a CSV neutralises. The reader here answers every query with the same rows, so these
/// tests are about the view, not the data: the browser tests check pages against the CLI.
struct WebViewRouteTests {
    /// Answers every read-model query with `rows`; knows one read-only and one read-write token.
    struct CannedSource: WebViewSource {
        var rows: [[SQLValue]] = [[.text("WY-1"), .text("open"), .text("<script>alert(1)</script>"), .null, .null, .text("=HYPERLINK(\"x\")"), .text("2016")]]

        func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
            (["case_id", "status", "region", "category", "owner", "title", "opened_at"], rows)
        }
        func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] { [] }
        func projectionStatus() async throws -> ProjectionStatus { ProjectionStatus(version: 1, currentVersion: 1, position: 0, logPosition: 0, rebuiltAt: nil) }
        func rebuildReadModels() async throws -> Int { 0 }
        func overview() async throws -> WebOverview {
            WebOverview(
                node: "hub<b>", origin: OriginID(publicKey: [1]), origins: [], peers: [], checkpointNodes: [], verifiedAt: 0,
                faults: [], forks: 0, conflicts: 0, events: 0, digest: "d"
            )
        }
        func view(asOf: Int64?, seenBy: String?, validAt: Int64?) async throws -> ReadModelView {
            if seenBy != nil { throw ConcordError(.unknownID, "this copy holds no checkpoint of \(seenBy!)") }
            return asOf.map(ReadModelView.asOf) ?? .live
        }
        func nodeNames() async throws -> [OriginID: String] { [:] }
        func auditBundle() async throws -> [UInt8] { Array("{}\n".utf8) }
        func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
            switch token {
            case "concord_reader": ("auditor", true)
            case "concord_writer": ("region", false)
            case "concord_limited": ("west-yorkshire", true)
            default: nil
            }
        }
        /// west-yorkshire has sharing rules that withhold part of the record.
        func sharesEverything(with peer: String) async throws -> Bool { peer != "west-yorkshire" }
    }

    func withApp(_ source: CannedSource = CannedSource(), secureCookie: Bool = false, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router()
        try WebView(source: source, secureCookie: secureCookie, logger: Logger(label: "test")).addRoutes(to: router)
        try await Application(router: router).test(.router, body)
    }

    @Test func overTLSTheCookieIsSecure() async throws {
        try await withApp(secureCookie: true) { client in
            try await client.execute(uri: "/view/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=concord_reader")) { response in
                #expect(response.headers[.setCookie]?.contains("Secure") == true)
            }
        }
        try await withApp { client in
            try await client.execute(uri: "/view/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=concord_reader")) { response in
                #expect(response.headers[.setCookie]?.contains("Secure") == false)
            }
        }
    }

    func cookie(_ token: String) -> HTTPFields { [.cookie: "\(WebView.cookieName)=\(token)"] }

    @Test func everyPageAsksForAReadOnlyTokenFirst() async throws {
        try await withApp { client in
            for path in ["/view", "/view/cases", "/view/stream/case:WY-1", "/view/bundle", "/view/cases.csv"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .seeOther, "\(path)")
                    #expect(response.headers[.location]?.hasPrefix("/view/login?next=") == true, "\(path)")
                }
                try await client.execute(uri: path, method: .get, headers: cookie("concord_writer")) { response in
                    #expect(response.status == .seeOther, "a read-write token opens nothing: \(path)")
                }
                try await client.execute(uri: path, method: .get, headers: cookie("concord_unknown")) { response in
                    #expect(response.status == .seeOther, "\(path)")
                }
                try await client.execute(uri: path, method: .get, headers: cookie("concord_limited")) { response in
                    #expect(response.status == .seeOther, "a peer whose sharing rules withhold something sees nothing: \(path)")
                }
            }
            try await client.execute(uri: "/view", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            }
        }
    }

    @Test func signingInKeepsTheTokenInAStrictHttpOnlyCookieAndRedirectsOnlyWithinTheView() async throws {
        try await withApp { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/view/login", method: .post, headers: form, body: ByteBuffer(string: "token=concord_reader&next=%2Fview%2Fcases")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/view/cases")
                let setCookie = response.headers[.setCookie] ?? ""
                #expect(setCookie.contains("\(WebView.cookieName)=concord_reader"))
                #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/view"), "\(setCookie)")
            }
            for next in ["https%3A%2F%2Felsewhere.example", "%2F%2Felsewhere.example", "%2Fv1%2Fpull", "%2Fview%2F..%2Fv1%2Fpull", "%2Fviewx", "%2Fview%2F%2Felsewhere.example"] {
                try await client.execute(uri: "/view/login", method: .post, headers: form, body: ByteBuffer(string: "token=concord_reader&next=\(next)")) { response in
                    #expect(response.headers[.location] == "/view", "next=\(next)")
                }
            }
            try await client.execute(uri: "/view/login", method: .post, headers: form, body: ByteBuffer(string: "token=concord_writer")) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie] == nil)
                #expect(String(buffer: response.body).contains("only read-only tokens"))
            }
            try await client.execute(uri: "/view/login", method: .post, headers: form, body: ByteBuffer(string: "token=concord_limited")) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie] == nil)
                #expect(String(buffer: response.body).contains("sharing rules withhold"))
            }
            try await client.execute(uri: "/view/login", method: .post, headers: form, body: ByteBuffer(string: "token=%3Cscript%3E")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
            }
        }
    }

    @Test func recordedTextIsEscapedInPagesAndNeutralisedInCSV() async throws {
        try await withApp { client in
            try await client.execute(uri: "/view/cases", method: .get, headers: cookie("concord_reader")) { response in
                let page = String(buffer: response.body)
                #expect(!page.contains("<script>alert(1)</script>"))
                #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
                #expect(response.headers[.init("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
            }
            try await client.execute(uri: "/view", method: .get, headers: cookie("concord_reader")) { response in
                #expect(String(buffer: response.body).contains("Node hub&lt;b&gt;"))
            }
            try await client.execute(uri: "/view/cases.csv", method: .get, headers: cookie("concord_reader")) { response in
                let csv = String(buffer: response.body)
                #expect(csv.hasPrefix("case_id,status,region,category,owner,title,opened_at\r\n"))
                // A formula is prefixed so that a spreadsheet shows it as text.
                #expect(csv.contains(#"WY-1,open,<script>alert(1)</script>,,,"'=HYPERLINK(""x"")",2016"#), "\(csv)")
            }
        }
    }

    @Test func aViewThatCannotBeShownSaysWhy() async throws {
        try await withApp { client in
            try await client.execute(uri: "/view/cases?seen_by=nobody", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no checkpoint of nobody"))
            }
            try await client.execute(uri: "/view/cases?as_of=yesterday-ish", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .badRequest, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/view/cases?as_of=2016-01-01&valid_at=2016-01-01", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func chartsEscapeTheirLabels() {
        let svg = SVGChart.stackedBars(title: "t<", groups: [("<b>region</b>", "open&", 2)])
        #expect(!svg.contains("<b>"))
        #expect(svg.contains("&lt;b&gt;region&lt;/b&gt;") && svg.contains("open&amp;"))
        #expect(SVGChart.bars(title: "x", bars: []).contains("Nothing to draw."))
    }
}
