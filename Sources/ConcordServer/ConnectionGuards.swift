import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// The error fired into a request's body stream when the body does not arrive in time.
struct RequestBodyTimeout: Error {}

/// Bounds how long a connection may take to send a request: the head (from the connection's
/// start, or the end of the previous response) within `headTimeout`, else the connection is
/// closed (a slow, unauthenticated client cannot hold it); the body within `bodyTimeout` of the
/// head, else the handler's read of the body fails (`RequestBodyTimeout`, answered 408) and the
/// connection is closed after that answer. No deadline runs while a handler works on a request
/// it has read (a long poll waits as long as it was asked to).
///
/// Sits after HTTP/1's codec (it sees `HTTPRequestPart`s and `HTTPResponsePart`s), before
/// Hummingbird's own handlers.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Expiry { case close, failBody }

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Heads read whose response has not ended yet.
    private var requestsInFlight = 0
    private var readingBody = false
    private var closeAfterResponse = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, headTimeout, .close) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, headTimeout, .close)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsInFlight += 1
            readingBody = true
            arm(context, bodyTimeout, .failBody)
        case .body:
            break
        case .end:
            readingBody = false
            // Answered before its body had all come (a refusal): the next head is due in time.
            // Still being worked on: no deadline (a long poll waits as long as it was asked to).
            if requestsInFlight == 0 { arm(context, headTimeout, .close) } else { disarm() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        requestsInFlight -= 1
        if closeAfterResponse {
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
            return
        }
        context.write(data, promise: promise)
        // Keep-alive: the next head is due in time.
        if requestsInFlight == 0, !readingBody { arm(context, headTimeout, .close) }
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: TimeAmount, _ expiry: Expiry) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.timer = nil
            switch expiry {
            case .close:
                context.close(promise: nil)
            case .failBody:
                if self.requestsInFlight == 0 {
                    // Answered without reading the whole body: nothing is waiting for the rest.
                    context.close(promise: nil)
                } else {
                    self.closeAfterResponse = true
                    context.fireErrorCaught(RequestBodyTimeout())
                }
            }
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

/// How many of something each key has open, up to a cap: connections per address, requests per
/// peer. Shared by every connection.
final class CountsByKey: Sendable {
    let limit: Int
    private let counts = NIOLockedValueBox<[String: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts one more for `key`, unless it already has `limit`.
    func open(_ key: String) -> Bool {
        counts.withLockedValue { counts in
            let open = counts[key, default: 0]
            guard open < limit else { return false }
            counts[key] = open + 1
            return true
        }
    }

    func close(_ key: String) {
        counts.withLockedValue { counts in
            let open = counts[key, default: 1] - 1
            counts[key] = open > 0 ? open : nil
        }
    }
}

/// Closes a connection at once when its address already has `maxPerAddress` open: one client
/// cannot take every connection the server will accept.
final class PerAddressLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let table: CountsByKey
    private var address: String?

    init(table: CountsByKey) {
        self.table = table
    }

    func channelActive(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard table.open(address) else {
            context.close(promise: nil)
            return
        }
        self.address = address
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    private func release() {
        if let address { table.close(address) }
        address = nil
    }
}

/// Requests being served per peer (by token), so one peer cannot occupy the server: beyond the
/// cap a request is answered 429 at once.
final class PeerGate: Sendable {
    private let counts: CountsByKey

    init(maxPerPeer: Int) {
        counts = CountsByKey(limit: maxPerPeer)
    }

    var maxPerPeer: Int { counts.limit }

    /// A slot for one request of a peer, given back when the slot is released (the handler, or a
    /// streamed answer, holds it to the end).
    final class Slot: Sendable {
        private let counts: CountsByKey
        private let peer: String

        fileprivate init(counts: CountsByKey, peer: String) {
            self.counts = counts
            self.peer = peer
        }

        deinit { counts.close(peer) }
    }

    func enter(_ peer: String) -> Slot? {
        counts.open(peer) ? Slot(counts: counts, peer: peer) : nil
    }
}

/// Answers 405 (with `Allow`) for a documented path asked with another method, and a JSON 404
/// for any undocumented path, so every answer is the protocol's JSON error. Added before the
/// routes (a router middleware wraps only routes added after it, and the not-found answer).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let methodsByPath: [String: Set<HTTPRequest.Method>]

    init(routes: [(method: String, path: String)]) {
        var table: [String: Set<HTTPRequest.Method>] = [:]
        for route in routes {
            guard let method = HTTPRequest.Method(route.method) else { continue }
            table[route.path, default: []].insert(method)
        }
        methodsByPath = table
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var path = request.uri.path
        // The route tree ignores a trailing slash.
        if path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if let allowed = methodsByPath[path], !allowed.contains(request.method) {
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            var response = SyncHandlers.error(status: 405, code: "method-not-allowed", message: "\(request.method.rawValue) is not allowed on \(path); use \(allow)")
            response.headers[.allow] = allow
            return response
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return SyncHandlers.error(status: 404, code: "not-found", message: "there is no endpoint \(path.prefix(200)); see docs/openapi.yaml")
        }
    }
}
