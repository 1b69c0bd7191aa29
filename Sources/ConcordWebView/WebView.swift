import ConcordCore
import ConcordDomain
import ConcordProjections
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache

/// The read-only web view for auditors and regional staff, served by `concord serve` under
/// `/view` (docs/audit.md): server-rendered HTML from Mustache templates, plain CSS, SVG drawn
/// here, CSV of every list. Nothing it answers writes to the store.
///
/// A read-only token, presented once on the login page, is kept in an HttpOnly, SameSite=Strict
/// cookie; every page asks for it, on loopback too (a browser on the hub's machine is not
/// necessarily the operator's).
public struct WebView: Sendable {
    public static let cookieName = "concord_view"
    let source: any WebViewSource
    let library: MustacheLibrary
    let logger: Logger
    /// Served over TLS: the cookie is then marked Secure, never sent over plain HTTP.
    let secureCookie: Bool

    public init(source: any WebViewSource, secureCookie: Bool = false, logger: Logger) throws {
        self.source = source
        self.secureCookie = secureCookie
        self.logger = logger
        var library = MustacheLibrary()
        for (name, text) in WebTemplates.all { try library.register(text, named: name) }
        self.library = library
    }

    /// The routes, for the server's list of what it answers.
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/view"), ("GET", "/view/login"), ("POST", "/view/login"), ("GET", "/view/cases"), ("GET", "/view/meetings"),
        ("GET", "/view/decisions"), ("GET", "/view/actions"), ("GET", "/view/conflicts"), ("GET", "/view/changes"),
        ("GET", "/view/bundle"), ("GET", "/view/stream/{stream}"),
    ]

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/view") { request, context in await page(request, context) { _ in try await overview(request) } }
        router.get("/view/login") { request, _ in try await loginForm(request) }
        router.post("/view/login") { request, context in try await login(request, context) }
        for kind in ReadModelListing.Kind.allCases {
            router.get("/view/\(kind.rawValue)") { request, context in await page(request, context) { _ in try await list(kind, request, csv: false) } }
            router.get("/view/\(kind.rawValue).csv") { request, context in await page(request, context) { _ in try await list(kind, request, csv: true) } }
        }
        router.get("/view/stream/:stream") { request, context in
            await page(request, context) { reader in try await stream((context.parameters.get("stream") ?? "").removingPercentEncoding ?? "", request, reader) }
        }
        router.get("/view/changes") { request, context in await page(request, context) { _ in try await changes(request) } }
        router.get("/view/bundle") { request, context in
            await page(request, context) { reader in
                // Written through the reader's view (SharedView), as export --audit --for writes it.
                var response = Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(bytes: try await source.auditBundle(for: reader.policy))))
                response.headers[.contentDisposition] = "attachment; filename=\"concord-audit-bundle.ndjson\""
                return response
            }
        }
    }

    // MARK: The gate

    /// Who a request is from, as the one disclosure decision saw them when it let them in.
    struct Reader: Sendable {
        var peer: String
        /// What this node's sharing rules give the peer (`SharingPolicy`, resolved by the store):
        /// every event shown is passed through it.
        var policy: SharingPolicy
    }

    /// The gate every request passes, sign-in included: the token must be one this node issued,
    /// read-only, and the node's sharing rules for its peer must withhold nothing
    /// (`SharingPolicy.withholdsNothing`, the rule sync applies event by event), because the pages
    /// show the whole read models. Asked again on every request: narrowing a peer's rules closes
    /// the view to a reader already signed in.
    enum Admission {
        case admitted(Reader)
        case refused(HTTPResponse.Status, String)
    }

    func admit(token: String) async throws -> Admission {
        guard token.utf8.count <= 512, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) }),
              let holder = try await source.authenticate(token: token) else {
            return .refused(.unauthorized, "That token is not one this node issued.")
        }
        guard holder.readOnly else {
            return .refused(.forbidden, "That token can write to this node; the web view takes only read-only tokens (concord token issue NAME --read-only).")
        }
        let policy = try await source.sharingPolicy(for: holder.peer)
        guard policy.withholdsNothing else {
            return .refused(.forbidden, "This node's sharing rules withhold some of its record from \(holder.peer), and the web view shows all of it: use a token of a peer that is given everything (concord share explain \(holder.peer)).")
        }
        return .admitted(Reader(peer: holder.peer, policy: policy))
    }

    // MARK: Access

    /// Runs a page's body once the gate admits the request; errors become a page saying what went wrong.
    func page<Context: RequestContext>(_ request: Request, _ context: Context, _ body: (Reader) async throws -> Response) async -> Response {
        var response = await gatedPage(request, context, body)
        // Pages show personal data: no browser or proxy keeps a copy (one erased is gone from
        // the view at once, and from the machine the auditor used).
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func gatedPage<Context: RequestContext>(_ request: Request, _ context: Context, _ body: (Reader) async throws -> Response) async -> Response {
        do {
            if let token = request.cookies[Self.cookieName]?.value, case .admitted(let reader) = try await admit(token: token) {
                return try await body(reader)
            }
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            var response = Response(status: .seeOther)
            response.headers[.location] = "/view/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/view")
            return response
        } catch let error as ConcordError {
            let status: HTTPResponse.Status = switch error.code {
            case .unknownID: .notFound
            case .invalidArgument, .invalidJSON: .badRequest
            default: .internalServerError
            }
            return (try? html(render("error", ["title": "Not shown", "message": error.message], nav: nil), status: status)) ?? Response(status: status)
        } catch {
            logger.error("web view failed", metadata: ["error": "\(error)"])
            return Response(status: .internalServerError)
        }
    }

    /// The sign-in form, with a fresh CSRF token: a random value set in a strict cookie and
    /// carried by the form, which the sign-in must send back equal (no other site can make a
    /// browser sign in with a token of its choosing).
    func loginForm(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var next = Self.parameter("next", of: request) ?? "/view"
        if !Self.isViewPath(next) { next = "/view" }
        return try loginPage(next: next, error: error, status: status)
    }

    private func loginPage(next: String, error: String?, status: HTTPResponse.Status) throws -> Response {
        let csrf = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        var context: [String: Any] = ["title": "Sign in", "next": next, "csrf": csrf]
        if let error { context["error"] = error }
        var response = try html(render("login", context, nav: nil), status: status)
        response.headers[.cacheControl] = "no-store"
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.csrfCookieName)=\(csrf); Path=/view/login; HttpOnly; SameSite=Strict\(secureCookie ? "; Secure" : "")"))
        return response
    }

    public static let csrfCookieName = "concord_view_csrf"

    func login<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 10)
        let form = Self.formFields(String(buffer: body))
        let token = form["token"] ?? ""
        var next = form["next"] ?? "/view"
        // Only a path of this view: never a redirect elsewhere, nor out of /view by "..".
        if !Self.isViewPath(next) { next = "/view" }
        // The form's CSRF token must equal the cookie set with the form (both random, 32 hex).
        guard let sent = form["csrf"], let kept = request.cookies[Self.csrfCookieName]?.value, sent.utf8.count == 32, sent == kept else {
            return try loginPage(next: next, error: "The sign-in form had expired or did not come from this page; sign in again.", status: .forbidden)
        }
        let reader: Reader
        switch try await admit(token: token) {
        case .refused(let status, let message): return try loginPage(next: next, error: message, status: status)
        case .admitted(let admitted): reader = admitted
        }
        logger.info("web view sign-in", metadata: ["peer": "\(reader.peer)"])
        var response = Response(status: .seeOther)
        response.headers[.location] = next
        response.headers[.cacheControl] = "no-store"
        response.setCookie(Cookie(name: Self.cookieName, value: token, path: "/view", secure: secureCookie, httpOnly: true))
        // SameSite=Strict: the cookie never goes with a request another site starts.
        if let index = response.headers.firstIndex(where: { $0.name == .setCookie }) {
            response.headers[index].value += "; SameSite=Strict"
        }
        return response
    }

    /// `/view` or a path below it, without `..`, a backslash or a scheme: safe to redirect to.
    /// Judged on the path fully decoded (a browser decodes `%2e%2e` and `%252f` in turn), and
    /// refused when its encoding nests deeper than a few layers.
    static func isViewPath(_ path: String) -> Bool {
        var decoded = path
        for _ in 0..<4 {
            guard let next = decoded.removingPercentEncoding else { return false }
            if next == decoded { break }
            decoded = next
        }
        guard decoded.removingPercentEncoding == decoded else { return false }
        for text in [path, decoded] {
            guard text == "/view" || text.hasPrefix("/view/") || text.hasPrefix("/view?") else { return false }
            guard !text.contains("..") && !text.contains("\\") && !text.contains("//") && !text.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }) else { return false }
        }
        return true
    }

    static func formFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    // MARK: Rendering

    func render(_ template: String, _ context: [String: Any], nav: String?) throws -> String {
        guard let body = library.render(context, withTemplate: template) else { throw ConcordError(.storage, "no template \(template)") }
        var layout = context
        layout["body"] = body
        if let nav { layout["nav-\(nav)"] = true }
        guard let page = library.render(layout, withTemplate: "layout") else { throw ConcordError(.storage, "no layout template") }
        return page
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.init("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        return response
    }
}
