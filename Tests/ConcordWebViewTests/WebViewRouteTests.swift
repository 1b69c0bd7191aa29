import ConcordCore
import ConcordProjections
import ConcordSQLite
import ConcordTestSupport
@testable import ConcordWebView
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The web view's routes in process (HummingbirdTesting): who gets in, what a page escapes,
/// what a CSV neutralises. The reader here answers every read-model query with the same rows, so
/// these tests are about the view, not the data (the browser tests check pages against the CLI);
/// who gets in is decided by a real store's sharing rules (`SQLiteEventStore.sharingPolicy`) and
/// the real gate (`SharingPolicy.withholdsNothing`), never a stand-in.
struct WebViewRouteTests {
    /// Answers every read-model query with `rows`; knows one read-only and one read-write token;
    /// asks `rules` (a real store) what each peer is given.
    struct CannedSource: WebViewSource {
        let rules: SQLiteEventStore
        var rows: [[SQLValue]] = [[.text("WY-1"), .text("open"), .text("<script>alert(1)</script>"), .null, .null, .text("=HYPERLINK(\"x\")"), .text("2016")]]

        func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
            (["case_id", "status", "region", "category", "owner", "title", "opened_at"], rows)
        }
        func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] { [] }
        func readModelDigest(_ view: ReadModelView) async throws -> String { "d" }
        func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) async throws -> String { "d" }
        func checkReadModels() async throws -> ReadModelCheck? { nil }
        func projectionStatus() async throws -> ProjectionStatus { ProjectionStatus(version: 1, currentVersion: 1, position: 0, logPosition: 0, rebuiltAt: nil) }
        func rebuildReadModels(progress: (@Sendable (Int, Int) -> Void)?) async throws -> Int { 0 }
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
        func checkpointNodeNames() async throws -> [String] { [] }
        func auditBundle(for policy: SharingPolicy) async throws -> [UInt8] { Array("{}\n".utf8) }
        func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
            switch token {
            case "concord_reader": ("auditor", true)
            case "concord_writer": ("region", false)
            case "concord_limited": ("west-yorkshire", true)
            case "concord_stubbed": ("lancashire", true)
            case "concord_everything": ("inspectorate", true)
            default: nil
            }
        }
        func sharingPolicy(for peer: String) async throws -> SharingPolicy { try rules.sharingPolicy(for: peer) }
    }

    /// A store whose default is `full`; west-yorkshire has a rule of its own (meetings only),
    /// which withholds cases although the default gives everything; lancashire's only rule
    /// grants one region; inspectorate is given every kind by rules.
    static func rules(in directory: TemporaryDirectory) throws -> SQLiteEventStore {
        let store = try StoreFixtures.createStore(in: directory)
        try store.setShareDefault(.full)
        _ = try store.addShareRule(peer: "west-yorkshire", .kind("meeting"))
        _ = try store.addShareRule(peer: "lancashire", .region("Lancashire"))
        for kind in ShareSelector.kinds { _ = try store.addShareRule(peer: "inspectorate", .kind(kind)) }
        return store
    }

    func withApp(secureCookie: Bool = false, rows: [[SQLValue]]? = nil, _ body: @Sendable (any TestClientProtocol, SQLiteEventStore) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("web-view-routes")
        let store = try Self.rules(in: directory)
        var source = CannedSource(rules: store)
        if let rows { source.rows = rows }
        let router = Router()
        try WebView(source: source, secureCookie: secureCookie, logger: Logger(label: "test")).addRoutes(to: router)
        try await Application(router: router).test(.router) { client in try await body(client, store) }
    }

    /// Signs in as a browser does: the form first (its CSRF cookie and field), then the post.
    func signIn(_ client: any TestClientProtocol, token: String, next: String? = nil, csrf: String? = nil, _ check: @escaping @Sendable (TestResponse) async throws -> Void) async throws {
        let (cookie, field) = try await client.execute(uri: "/view/login", method: .get) { response -> (String, String) in
            #expect(response.headers[.cacheControl] == "no-store")
            let setCookie = response.headers[.setCookie] ?? ""
            let value = setCookie.split(separator: ";").first.map { String($0.split(separator: "=").last ?? "") } ?? ""
            let page = String(buffer: response.body)
            let field = page.firstRange(of: #"name="csrf" value=""#).map { String(page[$0.upperBound...].prefix(32)) } ?? ""
            return (value, field)
        }
        #expect(cookie.count == 32 && cookie == field, "the form's CSRF field and cookie are one random value")
        var body = "token=\(token)&csrf=\(csrf ?? field)"
        if let next { body += "&next=\(next)" }
        try await client.execute(
            uri: "/view/login", method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "\(WebView.csrfCookieName)=\(cookie)"], body: ByteBuffer(string: body), testCallback: check
        )
    }

    @Test func overTLSTheCookieIsSecure() async throws {
        try await withApp(secureCookie: true) { client, _ in
            try await signIn(client, token: "concord_reader") { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.setCookie]?.contains("Secure") == true)
            }
        }
        try await withApp { client, _ in
            try await signIn(client, token: "concord_reader") { response in
                #expect(response.headers[.setCookie]?.contains("Secure") == false)
            }
        }
    }

    func cookie(_ token: String) -> HTTPFields { [.cookie: "\(WebView.cookieName)=\(token)"] }

    @Test func everyPageAsksTheGateAndOnlyAReaderGivenEverythingGetsIn() async throws {
        try await withApp { client, _ in
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
                // The store's default is full, but west-yorkshire's own rule gives it meetings only:
                // judged by its rules, never by the default.
                try await client.execute(uri: path, method: .get, headers: cookie("concord_limited")) { response in
                    #expect(response.status == .seeOther, "a peer whose own rules withhold cases sees nothing: \(path)")
                }
                try await client.execute(uri: path, method: .get, headers: cookie("concord_stubbed")) { response in
                    #expect(response.status == .seeOther, "a peer given one region sees nothing: \(path)")
                }
                for token in ["concord_reader", "concord_everything"] {
                    try await client.execute(uri: path, method: .get, headers: cookie(token)) { response in
                        // (The canned reader holds no events, so a stream's page is not found: past the gate.)
                        #expect(response.status == (path.hasPrefix("/view/stream/") ? .notFound : .ok), "\(token) \(path)")
                        #expect(response.headers[.cacheControl] == "no-store", "pages stay in no cache: \(path)")
                    }
                }
            }
        }
    }

    @Test func narrowingAPeersRulesClosesTheViewToItsSignedInReader() async throws {
        try await withApp { client, store in
            try await client.execute(uri: "/view/cases", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .ok)
            }
            _ = try store.addShareRule(peer: "auditor", .kind("meeting"))
            try await client.execute(uri: "/view/cases", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .seeOther)
            }
            try store.setShareDefault(.stubs)
            _ = try store.removeShareRule(peer: "auditor", .kind("meeting"))
            try await client.execute(uri: "/view/cases", method: .get, headers: cookie("concord_reader")) { response in
                #expect(response.status == .seeOther, "with no rules of its own, the default stubs withholds everything")
            }
        }
    }

    @Test func signingInKeepsTheTokenInAStrictHttpOnlyCookieAndRedirectsOnlyWithinTheView() async throws {
        try await withApp { client, _ in
            try await signIn(client, token: "concord_reader", next: "%2Fview%2Fcases") { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/view/cases")
                #expect(response.headers[.cacheControl] == "no-store")
                let setCookie = response.headers[.setCookie] ?? ""
                #expect(setCookie.contains("\(WebView.cookieName)=concord_reader"))
                #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/view"), "\(setCookie)")
            }
            // Each is refused however deeply it is encoded: a browser decodes every layer in turn.
            for next in [
                "https%3A%2F%2Felsewhere.example", "%2F%2Felsewhere.example", "%2Fv1%2Fpull", "%2Fview%2F..%2Fv1%2Fpull", "%2Fviewx",
                "%2Fview%2F%2Felsewhere.example", "%2Fview%2F%252e%252e%2Fv1%2Fpull", "%2Fview%2F%25252e%25252e%2Fv1", "%2Fview%2F%252F%252Felsewhere.example",
                "%2Fview%2F%255c%255celsewhere.example", "%2Fview%250d%250aLocation%3A%20x", "%2Fview%2F%2525252525252e",
            ] {
                try await signIn(client, token: "concord_reader", next: next) { response in
                    #expect(response.headers[.location] == "/view", "next=\(next)")
                }
            }
            try await signIn(client, token: "concord_writer") { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie]?.contains(WebView.cookieName + "=") != true)
                #expect(String(buffer: response.body).contains("only read-only tokens"))
            }
            for token in ["concord_limited", "concord_stubbed"] {
                try await signIn(client, token: token) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.headers[.setCookie]?.contains(WebView.cookieName + "=") != true)
                    #expect(String(buffer: response.body).contains("sharing rules withhold"))
                }
            }
            try await signIn(client, token: "%3Cscript%3E") { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie]?.contains(WebView.cookieName + "=") != true)
            }
        }
    }

    @Test func aSignInWithoutTheFormsCSRFTokenIsRefused() async throws {
        try await withApp { client, _ in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            // Another site's form: no CSRF cookie, or a field that is not the cookie's value.
            try await client.execute(uri: "/view/login", method: .post, headers: form, body: ByteBuffer(string: "token=concord_reader")) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie]?.contains(WebView.cookieName + "=") != true)
            }
            var withCookie = form
            withCookie[.cookie] = "\(WebView.csrfCookieName)=\(String(repeating: "a", count: 32))"
            try await client.execute(uri: "/view/login", method: .post, headers: withCookie, body: ByteBuffer(string: "token=concord_reader&csrf=\(String(repeating: "b", count: 32))")) { response in
                #expect(response.status == .forbidden)
            }
            try await signIn(client, token: "concord_reader", csrf: String(repeating: "c", count: 32)) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func recordedTextIsEscapedInPagesAndNeutralisedInCSV() async throws {
        try await withApp { client, _ in
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
        try await withApp { client, _ in
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
