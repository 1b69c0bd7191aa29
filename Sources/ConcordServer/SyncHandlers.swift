import ConcordCore
import ConcordSyncProtocol
import ConcordZlib
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The sync endpoints: authentication, limits, compression, and the JSON errors of the protocol.
struct SyncHandlers: Sendable {
    let backend: any SyncBackend
    let limits: SyncLimits
    let logger: Logger
    let catchUp: ReadModelCatchUp

    init(backend: any SyncBackend, limits: SyncLimits, logger: Logger) {
        self.backend = backend
        self.limits = limits
        self.logger = logger
        self.catchUp = ReadModelCatchUp(backend: backend, logger: logger)
    }

    /// Runs blocking store work (SQLite) on NIO's thread pool, off the event loops that serve requests.
    private func onStore<T: Sendable>(_ body: @escaping @Sendable (any SyncBackend) throws -> T) async throws -> T {
        let backend = backend
        return try await NIOThreadPool.singleton.runIfActive { try body(backend) }
    }

    /// Runs a handler; any error becomes the protocol's JSON error with its status code.
    func respond(_ request: Request, _ body: () async throws -> Response) async -> Response {
        let started = ContinuousClock.now
        defer {
            Timer(label: "concord_request_duration", dimensions: [("path", request.uri.path)]).record(since: started)
        }
        do {
            return try await body()
        } catch let error as ConcordError {
            let status = SyncWire.status(for: error.code)
            Counter(label: "concord_requests_refused_total", dimensions: [("code", error.code.rawValue)]).increment()
            logger.notice("refused request", metadata: ["path": "\(request.uri.path)", "status": "\(status)", "reason": "\(error.message)"])
            return Self.error(status: status, code: error.code.rawValue, message: error.message)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Self.error(status: 500, code: "internal", message: "the server could not complete the request; see its log")
        }
    }

    static func error(status: Int, code: String, message: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: SyncWire.jsonContentType],
            body: .init(byteBuffer: ByteBuffer(string: SyncWire.errorDocument(code: code, message: message) + "\n"))
        )
    }

    // MARK: Endpoints

    func vector(_ request: Request) async throws -> Response {
        _ = try await access(request)
        let document = try await onStore { SyncWire.vectorDocument(node: try $0.nodeName(), vector: try $0.versionVector()) }
        return json(document)
    }

    func pull(_ request: Request) async throws -> Response {
        let peer = try await access(request)
        let body = try await readBody(request)
        guard let text = String(validating: body, as: UTF8.self) else {
            throw ConcordError(.invalidJSON, "the pull request is not UTF-8")
        }
        let pull = try SyncWire.PullRequest(json: text, limits: limits)
        var (batch, more) = try await onStore { try $0.missingBatch(have: pull.have, maxEvents: pull.maxEvents) }
        if batch.events.isEmpty, pull.waitSeconds > 0 {
            // Long-poll: look again until something arrives or the wait is over. A server shutting
            // down answers at once (with nothing), so a waiting peer does not hold up its exit.
            let deadline = ContinuousClock.now + .seconds(pull.waitSeconds)
            while batch.events.isEmpty, ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
                try await Task.sleep(for: .milliseconds(200))
                (batch, more) = try await onStore { try $0.missingBatch(have: pull.have, maxEvents: pull.maxEvents) }
            }
        }
        let end = SyncWire.BatchEnd(more: more, vector: try await onStore { try $0.versionVector() })
        let text2 = BatchWriter.lines(batch) + end.json + "\n"
        Counter(label: "concord_events_served_total").increment(by: batch.events.count)
        logger.info("served pull", metadata: ["peer": "\(peer.peer)", "events": "\(batch.events.count)", "more": "\(more)"])
        return encoded(Array(text2.utf8), contentType: SyncWire.ndjsonContentType, request: request)
    }

    func push(_ request: Request) async throws -> Response {
        let peer = try await access(request)
        guard !peer.readOnly else {
            throw ConcordError(.forbidden, "peer \(peer.peer) has a read-only token: it may pull but not push")
        }
        var reader = BatchReader(limits: limits)
        try await readBody(request) { chunk in try reader.feed(chunk) }
        let batch = try reader.finish()
        let started = ContinuousClock.now
        let result = try await onStore { try $0.ingest(batch, from: peer.peer) }
        if result.inserted > 0 { catchUp.request() }
        Timer(label: "concord_batch_apply_duration").record(since: started)
        Counter(label: "concord_events_accepted_total").increment(by: result.inserted)
        logger.info("accepted push", metadata: ["peer": "\(peer.peer)", "accepted": "\(result.inserted)", "held": "\(result.alreadyHeld)"])
        return json(SyncWire.PushResult(accepted: result.inserted, alreadyHeld: result.alreadyHeld, vector: try await onStore { try $0.versionVector() }).json)
    }

    // MARK: Helpers

    private func access(_ request: Request) async throws -> (peer: String, readOnly: Bool) {
        guard let header = request.headers[.authorization] else {
            throw ConcordError(.unauthorized, "no token: send Authorization: Bearer TOKEN (concord token issue on this node makes one)")
        }
        let token = String(header.dropFirst(7)).trimmingSpaces
        guard header.hasPrefix("Bearer "), let peer = try await onStore({ try $0.authenticate(token: token) }) else {
            throw ConcordError(.unauthorized, "the token is not one this node issued")
        }
        return peer
    }

    /// Streams the body through the declared content coding within the limits.
    private func readBody(_ request: Request, _ consume: (ArraySlice<UInt8>) throws -> Void) async throws {
        let format = try CompressionFormat.fromContentEncoding(request.headers[.contentEncoding])
        let inflater = format.map { Inflater(format: $0, limits: InflateLimits(maxOutputBytes: limits.maxInflatedBytes, maxRatio: limits.maxInflateRatio, ratioFloorBytes: limits.ratioFloorBytes)) }
        var received = 0
        var inflated = 0
        for try await buffer in request.body {
            received += buffer.readableBytes
            guard received <= limits.maxBodyBytes else {
                throw ConcordError(.tooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes, the limit")
            }
            let bytes = Array(buffer.readableBytesView)
            Counter(label: "concord_bytes_in_total").increment(by: bytes.count)
            if let inflater {
                try inflater.feed(bytes) { try consume($0) }
            } else {
                inflated += bytes.count
                guard inflated <= limits.maxInflatedBytes else {
                    throw ConcordError(.tooLarge, "the request body is larger than \(limits.maxInflatedBytes) bytes, the limit")
                }
                try consume(bytes[...])
            }
        }
        try inflater?.finish()
    }

    private func readBody(_ request: Request) async throws -> [UInt8] {
        var body: [UInt8] = []
        try await readBody(request) { chunk in
            body += chunk
            guard body.count <= 8 << 20 else { throw ConcordError(.tooLarge, "the request is larger than 8 MiB, the limit") }
        }
        return body
    }

    private func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: SyncWire.jsonContentType], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    /// Compresses a response when the peer accepts gzip or deflate (`curl --compressed` does).
    private func encoded(_ bytes: [UInt8], contentType: String, request: Request) -> Response {
        let accepted = (request.headers[.acceptEncoding] ?? "").lowercased()
        var headers: HTTPFields = [.contentType: contentType]
        var body = bytes
        if accepted.contains("gzip") {
            body = Zlib.compress(bytes, format: .gzip)
            headers[.contentEncoding] = "gzip"
        } else if accepted.contains("deflate") {
            body = Zlib.compress(bytes, format: .deflate)
            headers[.contentEncoding] = "deflate"
        }
        Counter(label: "concord_bytes_out_total").increment(by: body.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}


extension Timer {
    /// Records the time since `start` on the continuous clock.
    fileprivate func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
