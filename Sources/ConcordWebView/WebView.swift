import ConcordCore
import ConcordDomain
import ConcordProjections
import Foundation
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
        router.get("/view") { request, context in await page(request, context) { try await overview(request) } }
        router.get("/view/login") { request, _ in try html(render("login", ["title": "Sign in", "next": Self.parameter("next", of: request) ?? "/view"], nav: nil)) }
        router.post("/view/login") { request, context in try await login(request, context) }
        for kind in ReadModelListing.Kind.allCases {
            router.get("/view/\(kind.rawValue)") { request, context in await page(request, context) { try await list(kind, request, csv: false) } }
            router.get("/view/\(kind.rawValue).csv") { request, context in await page(request, context) { try await list(kind, request, csv: true) } }
        }
        router.get("/view/stream/:stream") { request, context in
            await page(request, context) { try await stream((context.parameters.get("stream") ?? "").removingPercentEncoding ?? "", request) }
        }
        router.get("/view/changes") { request, context in await page(request, context) { try await changes(request) } }
        router.get("/view/bundle") { request, context in
            await page(request, context) {
                var response = Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(bytes: try await source.auditBundle())))
                response.headers[.contentDisposition] = "attachment; filename=\"concord-audit-bundle.ndjson\""
                return response
            }
        }
    }

    // MARK: Access

    /// Runs a page's body once the request may see the view; errors become a page saying what went wrong.
    func page<Context: RequestContext>(_ request: Request, _ context: Context, _ body: () async throws -> Response) async -> Response {
        do {
            if let refusal = try await refuse(request, context) { return refusal }
            return try await body()
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

    func refuse<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response? {
        if let token = request.cookies[Self.cookieName]?.value, let holder = try await source.authenticate(token: token), holder.readOnly,
           try await source.sharesEverything(with: holder.peer) {
            return nil
        }
        let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        var response = Response(status: .seeOther)
        response.headers[.location] = "/view/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/view")
        return response
    }

    func login<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 10)
        let form = Self.formFields(String(buffer: body))
        let token = form["token"] ?? ""
        var next = form["next"] ?? "/view"
        // Only a path of this view: never a redirect elsewhere, nor out of /view by "..".
        if !Self.isViewPath(next) { next = "/view" }
        guard token.utf8.count <= 512, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) }),
              let holder = try await source.authenticate(token: token) else {
            return try html(render("login", ["title": "Sign in", "next": next, "error": "That token is not one this node issued."], nav: nil), status: .unauthorized)
        }
        guard holder.readOnly else {
            return try html(render("login", ["title": "Sign in", "next": next, "error": "That token can write to this node; the web view takes only read-only tokens (concord token issue NAME --read-only)."], nav: nil), status: .forbidden)
        }
        guard try await source.sharesEverything(with: holder.peer) else {
            return try html(render("login", ["title": "Sign in", "next": next, "error": "This node's sharing rules withhold some of its record from \(holder.peer), and the web view shows all of it: use a token of a peer that is given everything."], nav: nil), status: .forbidden)
        }
        var response = Response(status: .seeOther)
        response.headers[.location] = next
        response.setCookie(Cookie(name: Self.cookieName, value: token, path: "/view", secure: secureCookie, httpOnly: true))
        // SameSite=Strict: the cookie never goes with a request another site starts.
        if let index = response.headers.firstIndex(where: { $0.name == .setCookie }) {
            response.headers[index].value += "; SameSite=Strict"
        }
        return response
    }

    /// `/view` or a path below it, without `..`, a backslash or a scheme: safe to redirect to.
    static func isViewPath(_ path: String) -> Bool {
        guard path == "/view" || path.hasPrefix("/view/") || path.hasPrefix("/view?") else { return false }
        return !path.contains("..") && !path.contains("\\") && !path.contains("//") && !path.contains(where: { $0.isNewline })
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
