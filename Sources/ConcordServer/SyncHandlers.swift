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
/// What is answered is decided by `SyncResponder`; this type carries it over HTTP.
struct SyncHandlers: Sendable {
    let backend: any SyncBackend
    let responder: SyncResponder
    let limits: SyncLimits
    let logger: Logger
    let catchUp: ReadModelCatchUp
    let gate: PeerGate

    init(backend: any SyncBackend, limits: SyncLimits, maxRequestsPerPeer: Int, logger: Logger) {
        self.backend = backend
        self.responder = SyncResponder(backend: backend, limits: limits)
        self.limits = limits
        self.logger = logger
        self.catchUp = ReadModelCatchUp(backend: backend, logger: logger)
        self.gate = PeerGate(maxPerPeer: maxRequestsPerPeer)
    }

    /// Every compressed answer keeps within this bound, which every receiver accepts
    /// (`SyncLimits.validate` refuses stricter ones).
    static let answerRatioBound = InflateLimits(maxOutputBytes: .max, maxRatio: SyncLimits.protocolInflateRatio, ratioFloorBytes: SyncLimits.protocolRatioFloorBytes)

    /// Runs a handler; any error becomes the protocol's JSON error with its status code.
    func respond(_ request: Request, _ body: () async throws -> Response) async -> Response {
        let started = ContinuousClock.now
        defer {
            Timer(label: "concord_request_duration", dimensions: [("path", request.uri.path)]).record(since: started)
        }
        do {
            return try await body()
        } catch let refusal as PushRefused {
            return refused(request, refusal.error, listing: refusal.origins)
        } catch let error as ConcordError {
            return refused(request, error, listing: [])
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Self.error(status: 500, code: "internal", message: "the server could not complete the request; see its log")
        }
    }

    private func refused(_ request: Request, _ error: ConcordError, listing origins: [SyncWire.Refusal]) -> Response {
        let status = SyncWire.status(for: error.code)
        Counter(label: "concord_requests_refused_total", dimensions: [("code", error.code.rawValue)]).increment()
        logger.notice("refused request", metadata: ["path": "\(request.uri.path)", "status": "\(status)", "reason": "\(error.message)"])
        return Self.error(status: status, code: error.code.rawValue, message: error.message, refused: origins)
    }

    static func error(status: Int, code: String, message: String, refused: [SyncWire.Refusal] = []) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: SyncWire.jsonContentType],
            body: .init(byteBuffer: ByteBuffer(string: SyncWire.errorDocument(code: code, message: message, refused: refused) + "\n"))
        )
    }

    /// A push every origin of which was refused: answered with the first refusal, listing all.
    struct PushRefused: Error {
        var error: ConcordError
        var origins: [SyncWire.Refusal]
    }

    // MARK: Endpoints

    func vector(_ request: Request) async throws -> Response {
        let slot = try await access(request).slot
        defer { withExtendedLifetime(slot) {} }
        let advertised = limits.advertised
        let document = SyncWire.vectorDocument(
            node: try await backend.nodeName(), vector: try await backend.versionVector(), limits: advertised,
            openings: try await backend.openingsGeneration(), stubs: try await backend.stubsCursor()
        )
        return json(document)
    }

    /// `GET /v1/stubs[?since=CURSOR]`: the events this node holds as stubs, a page at a time.
    func stubs(_ request: Request) async throws -> Response {
        let slot = try await access(request).slot
        defer { withExtendedLifetime(slot) {} }
        let since = try request.uri.queryParameters.get("since").map { text -> Int64 in
            guard let value = Int64(String(text)), value >= 0, String(value) == String(text) else {
                throw ConcordError(.invalidArgument, "?since= must be a cursor: a whole number from 0 to 9223372036854775807")
            }
            return value
        } ?? 0
        let page = try await responder.stubs(since: since)
        return json(page.json)
    }

    /// `POST /v1/openings/pull`: the openings of the puller's stubs that this node may share with it.
    func pullOpenings(_ request: Request) async throws -> Response {
        let (peer, _, slot) = try await access(request)
        defer { withExtendedLifetime(slot) {} }
        var text: [UInt8] = []
        try await readBody(request, maxInflated: SyncLimits.maxPullRequestBytes) { chunk in text += chunk }
        guard let body = String(validating: text, as: UTF8.self) else { throw ConcordError(.invalidJSON, "the openings request is not UTF-8") }
        let wanted = try SyncWire.OpeningsRequest(json: body, limits: limits)
        let (events, more) = try await responder.openings(wanted, peer: peer)
        var lines: [UInt8] = []
        BatchWriter.append(IngestBatch(events: events), to: &lines)
        let end = SyncWire.BatchEnd(more: more, vector: try await backend.versionVector(), openings: try await backend.openingsGeneration(), stubs: try await backend.stubsCursor())
        lines += Array((end.json + "\n").utf8)
        logger.info("served openings", metadata: ["peer": "\(peer)", "openings": "\(events.count)", "more": "\(more)"])
        return Response(status: .ok, headers: [.contentType: SyncWire.ndjsonContentType], body: .init(byteBuffer: ByteBuffer(bytes: lines)))
    }

    /// `POST /v1/openings/push`: openings of stubs this node holds, offered by a peer.
    func pushOpenings(_ request: Request) async throws -> Response {
        let (peer, readOnly, slot) = try await access(request)
        defer { withExtendedLifetime(slot) {} }
        guard !readOnly else { throw ConcordError(.forbidden, "peer \(peer) has a read-only token: it may pull but not push") }
        var reader = BatchReader(limits: limits)
        try await readBody(request, maxInflated: limits.maxInflatedBytes) { chunk in try reader.feed(chunk) }
        guard reader.end == nil else { throw ConcordError(.invalidJSON, "pushed openings are event lines, not an end line") }
        let batch = try reader.finish()
        guard batch.seals.isEmpty, batch.keys.isEmpty, !batch.events.isEmpty,
              batch.events.allSatisfy({ $0.commitment != nil && $0.disclosure == .full })
        else {
            throw ConcordError(.invalidJSON, "pushed openings are format-2 event lines with their openings (salt, actor, data), at least one, and no other lines")
        }
        let result = try await backend.storeOpenings(batch.events, from: peer)
        if result.stored > 0 { catchUp.request() }
        logger.info("accepted openings", metadata: ["peer": "\(peer)", "stored": "\(result.stored)", "ignored": "\(result.ignored)"])
        return json(result.json)
    }

    func pull(_ request: Request) async throws -> Response {
        let (peer, _, slot) = try await access(request)
        var text: [UInt8] = []
        try await readBody(request, maxInflated: SyncLimits.maxPullRequestBytes) { chunk in
            text += chunk
        }
        guard let json = String(validating: text, as: UTF8.self) else {
            throw ConcordError(.invalidJSON, "the pull request is not UTF-8")
        }
        let pull = try SyncWire.PullRequest(json: json, limits: limits)
        let responder = responder
        let commits = backend.commits
        var seen = commits.generation
        var runs = try await responder.pull(pull, peer: peer)
        var first = try await runs.next()
        if first == nil, !runs.more, runs.setAside.isEmpty, pull.waitSeconds > 0 {
            // Long-poll: woken by the next commit (a push here, or any process writing the store),
            // not by reading the store again and again. A server shutting down answers at once.
            let deadline = ContinuousClock.now + .seconds(pull.waitSeconds)
            try await withGracefulShutdownHandler {
                while first == nil, !runs.more, ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
                    seen = await commits.wait(after: seen, timeout: deadline - ContinuousClock.now)
                    runs = try await responder.pull(pull, peer: peer)
                    first = try await runs.next()
                }
            } onGracefulShutdown: {
                commits.signal()
            }
        }
        let format = Self.answerFormat(for: request)
        var headers: HTTPFields = [.contentType: SyncWire.ndjsonContentType]
        if let format { headers[.contentEncoding] = format.rawValue }
        let logger = logger
        let (planned, firstRun) = (runs, first)
        // The answer streams: each run is read, encoded and compressed only once the last is sent.
        let body = ResponseBody { writer in
            do {
                let deflater = format.map { Deflater(format: $0, ratioBound: Self.answerRatioBound) }
                var bytesOut = 0
                func send(_ bytes: [UInt8], finishing: Bool = false) async throws {
                    var out = deflater?.compress(bytes) ?? bytes
                    if finishing, let deflater { out += deflater.finish() }
                    guard !out.isEmpty else { return }
                    bytesOut += out.count
                    try await writer.write(ByteBuffer(bytes: out))
                }
                var served = 0
                var next = firstRun
                var rest = planned
                while let run = next {
                    var lines: [UInt8] = []
                    BatchWriter.append(run.batch, to: &lines, compact: true)
                    served += run.events.count
                    try await send(lines)
                    next = try await rest.next()
                }
                var tail: [UInt8] = []
                BatchWriter.append(try await responder.checkpoints(for: pull, after: rest), to: &tail)
                try await send(tail + Array((await responder.end(after: rest).json + "\n").utf8), finishing: true)
                try await writer.finish(nil)
                Counter(label: "concord_events_served_total").increment(by: served)
                Counter(label: "concord_bytes_out_total").increment(by: bytesOut)
                logger.info("served pull", metadata: ["peer": "\(peer)", "events": "\(served)", "more": "\(rest.more)"])
            }
            // The peer's slot is held until the answer has been sent.
            withExtendedLifetime(slot) {}
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    func push(_ request: Request) async throws -> Response {
        let (peer, readOnly, slot) = try await access(request)
        defer { withExtendedLifetime(slot) {} }
        guard !readOnly else {
            throw ConcordError(.forbidden, "peer \(peer) has a read-only token: it may pull but not push")
        }
        var reader = BatchReader(limits: limits)
        try await readBody(request, maxInflated: limits.maxInflatedBytes) { chunk in try reader.feed(chunk) }
        guard reader.end == nil else { throw ConcordError(.invalidJSON, "a push carries origin, event, seal and checkpoint lines, not an end line") }
        let batch = try reader.finish()
        guard !batch.events.isEmpty || !batch.seals.isEmpty || !batch.checkpoints.isEmpty else {
            throw ConcordError(.invalidJSON, "the push holds no events, seals or checkpoints: send origin, event, seal and checkpoint lines (docs/file-formats.md)")
        }
        let started = ContinuousClock.now
        let outcome = try await responder.push(batch, from: peer)
        Timer(label: "concord_batch_apply_duration").record(since: started)
        switch outcome {
        case .stored(let result, let inserted):
            if inserted > 0 { catchUp.request() }
            Counter(label: "concord_events_accepted_total").increment(by: inserted)
            logger.info("accepted push", metadata: ["peer": "\(peer)", "accepted": "\(inserted)", "held": "\(result.alreadyHeld)", "refused": "\(result.refused.count)"])
            return json(result.json)
        case .refused(let error, let origins):
            throw PushRefused(error: error, origins: origins)
        }
    }

    // MARK: Helpers

    /// The peer a request's token belongs to, with a slot among its requests being served.
    private func access(_ request: Request) async throws -> (peer: String, readOnly: Bool, slot: PeerGate.Slot) {
        guard let header = request.headers[.authorization] else {
            throw ConcordError(.unauthorized, "no token: send Authorization: Bearer TOKEN (concord token issue on this node makes one)")
        }
        // The scheme is case-insensitive (RFC 9110, 11.1).
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw ConcordError(.unauthorized, "the Authorization header must be Bearer TOKEN")
        }
        let token = String(header.dropFirst(7)).trimmingSpaces
        guard !token.isEmpty, token.utf8.count <= 512, let peer = try await backend.authenticate(token: token) else {
            throw ConcordError(.unauthorized, "the token is not one this node issued")
        }
        guard let slot = gate.enter(peer.peer) else {
            throw ConcordError(.tooManyRequests, "peer \(peer.peer) already has \(gate.maxPerPeer) requests being served; wait for one to finish")
        }
        return (peer.peer, peer.readOnly, slot)
    }

    /// Streams the body through the declared content coding within the limits.
    private func readBody(_ request: Request, maxInflated: Int, _ consume: (ArraySlice<UInt8>) throws -> Void) async throws {
        let format = try CompressionFormat.fromContentEncoding(request.headers[.contentEncoding])
        let inflateLimits = InflateLimits(maxOutputBytes: maxInflated, maxRatio: limits.maxInflateRatio, ratioFloorBytes: limits.ratioFloorBytes)
        let inflater = format.map { Inflater(format: $0, limits: inflateLimits) }
        var received = 0
        var inflated = 0
        do {
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
                    guard inflated <= maxInflated else {
                        throw ConcordError(.tooLarge, "the request body is larger than \(maxInflated) bytes, the limit")
                    }
                    try consume(bytes[...])
                }
            }
        } catch let error as ConcordError {
            throw error
        } catch is RequestBodyTimeout {
            throw ConcordError(.timeout, "the request body did not arrive in time")
        } catch {
            throw ConcordError(.invalidEncoding, "the request body ended early: \(error)")
        }
        try inflater?.finish()
    }

    private func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: SyncWire.jsonContentType], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    /// gzip or deflate when the peer accepts it (`curl --compressed` does), else none.
    private static func answerFormat(for request: Request) -> CompressionFormat? {
        let accepted = (request.headers[.acceptEncoding] ?? "").lowercased()
        if accepted.contains("gzip") { return .gzip }
        if accepted.contains("deflate") { return .deflate }
        return nil
    }
}

extension Timer {
    /// Records the time since `start` on the continuous clock.
    fileprivate func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
