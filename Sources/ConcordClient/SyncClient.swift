import AsyncHTTPClient
import ConcordCore
import ConcordSyncProtocol
import ConcordZlib
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Talks to a peer's sync API (docs/sync-protocol.md) over AsyncHTTPClient.
public struct SyncClient: Sendable {
    public let baseURL: String
    let token: String
    let httpClient: HTTPClient
    let limits: SyncLimits
    let timeout: TimeAmount

    /// - Parameter httpClient: must not decompress bodies itself: the client inflates them
    ///   within its own limits. `withSyncClient` makes one and always shuts it down.
    public init(baseURL: String, token: String, httpClient: HTTPClient, limits: SyncLimits = SyncLimits(), timeout: TimeAmount = .seconds(120)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.httpClient = httpClient
        self.limits = limits
        self.timeout = timeout
    }

    /// Runs `body` with a client for one peer, shutting its connections down afterwards,
    /// whether `body` returns or throws.
    /// - Parameter caCertificatePath: a PEM file of certificates to trust for https peers (such as
    ///   a partnership's own CA or a self-signed certificate); the system's roots otherwise.
    public static func withSyncClient<T: Sendable>(
        baseURL: String, token: String, limits: SyncLimits = SyncLimits(), caCertificatePath: String? = nil,
        _ body: (SyncClient) async throws -> T
    ) async throws -> T {
        // Decompression off: responses are inflated here, within the sync limits. A peer that
        // stops sending mid-answer is given up on after 150 s of silence (longer than any long poll).
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(10), read: .seconds(150)),
            decompression: .disabled
        )
        if let caCertificatePath {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caCertificatePath))
            } catch {
                throw ConcordError(.invalidArgument, "cannot read the CA certificate \(caCertificatePath): \(error)", cause: error)
            }
            configuration.tlsConfiguration = tls
        }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let result: T
        do {
            result = try await body(SyncClient(baseURL: baseURL, token: token, httpClient: http, limits: limits))
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        return result
    }

    public func vector() async throws -> SyncWire.VectorDocument {
        let body: [UInt8]
        do {
            body = try await send(method: .GET, path: "/v1/vector", body: nil)
        } catch let refusal as PeerRefusal {
            throw refusal.error
        }
        do {
            return try SyncWire.decodeVectorDocument(String(decoding: body, as: UTF8.self))
        } catch let error as ConcordError {
            // Malformed, or limits below the protocol's floor: the peer misbehaved.
            throw ConcordError(.peer, "\(baseURL) answered GET /v1/vector with a document this node cannot take: \(error.message)", cause: error)
        }
    }

    /// Pulls one batch; the answer is inflated and parsed as it streams in, within the budget
    /// the request states (plus its end line).
    public func pull(_ pull: SyncWire.PullRequest) async throws -> (batch: IngestBatch, end: SyncWire.BatchEnd) {
        var reader = BatchReader(budget: pull.budget)
        let maxInflated = pull.maxBytes + SyncLimits.maxEndLineBytes
        do {
            try await send(method: .POST, path: "/v1/pull", body: Array(pull.json.utf8), maxInflated: maxInflated, timeout: timeout + .seconds(Int64(pull.waitSeconds))) { chunk in
                try reader.feed(chunk)
            }
        } catch let refusal as PeerRefusal {
            throw refusal.error
        } catch let error as ConcordError where ![.peer, .unauthorized, .forbidden].contains(error.code) {
            // The answer broke the protocol (too large, malformed): the peer misbehaved.
            throw ConcordError(.peer, "\(baseURL) sent a pull answer this node cannot take: \(error.message)", cause: error)
        }
        let batch: IngestBatch
        do {
            batch = try reader.finish()
        } catch let error as ConcordError {
            throw ConcordError(.peer, "\(baseURL) sent a pull answer this node cannot take: \(error.message)", cause: error)
        }
        guard let end = reader.end else {
            throw ConcordError(.peer, "the peer's pull answer ended early (no end line): the connection was cut")
        }
        return (batch, end)
    }

    /// Pushes one batch, gzipped within the protocol's ratio bound (so the peer's inflate-ratio
    /// limit never refuses it, however compressible). Origins the peer refused are in the result,
    /// also when it refused every one (then answered with a 4xx listing them).
    public func push(_ batch: IngestBatch) async throws -> SyncWire.PushResult {
        let bound = InflateLimits(maxOutputBytes: .max, maxRatio: SyncLimits.protocolInflateRatio, ratioFloorBytes: SyncLimits.protocolRatioFloorBytes)
        let body = Zlib.compress(Array(BatchWriter.lines(batch, compact: true).utf8), format: .gzip, ratioBound: bound)
        do {
            let response = try await send(method: .POST, path: "/v1/push", body: body, contentEncoding: "gzip")
            do {
                return try SyncWire.PushResult(json: String(decoding: response, as: UTF8.self))
            } catch let error as ConcordError {
                throw ConcordError(.peer, "\(baseURL) answered a push with a document this node cannot read: \(error.message)", cause: error)
            }
        } catch let refusal as PeerRefusal where !refusal.refused.isEmpty {
            // Every origin of the batch was refused: none stored, the peer's vector unchanged.
            return SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: VersionVector(), refused: refusal.refused)
        } catch let refusal as PeerRefusal {
            throw refusal.error
        }
    }

    public func stubs(since: Int64) async throws -> SyncWire.StubsPage {
        let path = "/v1/stubs?since=\(since)"
        let body: [UInt8]
        do {
            body = try await send(method: .GET, path: path, body: nil)
        } catch let refusal as PeerRefusal {
            throw refusal.error
        }
        do {
            return try SyncWire.StubsPage(json: String(decoding: body, as: UTF8.self))
        } catch let error as ConcordError {
            throw ConcordError(.peer, "\(baseURL) answered GET /v1/stubs with a document this node cannot take: \(error.message)", cause: error)
        }
    }

    public func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd) {
        var reader = BatchReader(budget: request.budget)
        do {
            try await send(method: .POST, path: "/v1/openings/pull", body: Array(request.json.utf8), maxInflated: request.maxBytes + SyncLimits.maxEndLineBytes, timeout: timeout) { chunk in
                try reader.feed(chunk)
            }
        } catch let refusal as PeerRefusal {
            throw refusal.error
        } catch let error as ConcordError where ![.peer, .unauthorized, .forbidden].contains(error.code) {
            throw ConcordError(.peer, "\(baseURL) sent an openings answer this node cannot take: \(error.message)", cause: error)
        }
        let batch: IngestBatch
        do {
            batch = try reader.finish()
        } catch let error as ConcordError {
            throw ConcordError(.peer, "\(baseURL) sent an openings answer this node cannot take: \(error.message)", cause: error)
        }
        guard let end = reader.end else { throw ConcordError(.peer, "the peer's openings answer ended early (no end line): the connection was cut") }
        return (batch.events, end)
    }

    public func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult {
        let bound = InflateLimits(maxOutputBytes: .max, maxRatio: SyncLimits.protocolInflateRatio, ratioFloorBytes: SyncLimits.protocolRatioFloorBytes)
        let body = Zlib.compress(Array(BatchWriter.lines(IngestBatch(events: events)).utf8), format: .gzip, ratioBound: bound)
        do {
            let response = try await send(method: .POST, path: "/v1/openings/push", body: body, contentEncoding: "gzip")
            return try SyncWire.OpeningsResult(json: String(decoding: response, as: UTF8.self))
        } catch let refusal as PeerRefusal {
            throw refusal.error
        } catch let error as ConcordError where ![.peer, .unauthorized, .forbidden].contains(error.code) {
            throw ConcordError(.peer, "\(baseURL) answered pushed openings with a document this node cannot read: \(error.message)", cause: error)
        }
    }

    /// A peer's 4xx or 5xx answer.
    struct PeerRefusal: Error {
        var error: ConcordError
        var refused: [SyncWire.Refusal]
    }

    // MARK: HTTP

    private func send(method: HTTPMethod, path: String, body: [UInt8]?, contentEncoding: String? = nil) async throws -> [UInt8] {
        var collected: [UInt8] = []
        try await send(method: method, path: path, body: body, contentEncoding: contentEncoding, maxInflated: SyncLimits.maxEndLineBytes, timeout: timeout) { chunk in
            collected += chunk
        }
        return collected
    }

    /// Sends a request and streams the answer's inflated bytes to `consume`, at most
    /// `maxInflated` of them (whatever the encoding).
    private func send(
        method: HTTPMethod, path: String, body: [UInt8]?, contentEncoding: String? = nil, maxInflated: Int, timeout: TimeAmount,
        _ consume: (ArraySlice<UInt8>) throws -> Void
    ) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        if let body {
            request.headers.add(name: "Content-Type", value: path.hasSuffix("push") ? SyncWire.ndjsonContentType : SyncWire.jsonContentType)
            if let contentEncoding { request.headers.add(name: "Content-Encoding", value: contentEncoding) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw ConcordError(.peer, "cannot reach \(baseURL): \(error)", cause: error)
        }
        let format: CompressionFormat?
        do {
            format = try CompressionFormat.fromContentEncoding(response.headers.first(name: "Content-Encoding"))
        } catch {
            throw ConcordError(.peer, "\(baseURL) answered in an unknown content encoding", cause: error)
        }
        let inflater = format.map { Inflater(format: $0, limits: InflateLimits(maxOutputBytes: maxInflated, maxRatio: limits.maxInflateRatio, ratioFloorBytes: limits.ratioFloorBytes)) }
        guard response.status == .ok else {
            // An error document is small: read at most 1 MiB of it.
            var text: [UInt8] = []
            for try await buffer in response.body {
                text += buffer.readableBytesView
                if text.count >= 1 << 20 { break }
            }
            if let inflater { var inflated: [UInt8] = []; try? inflater.feed(text) { inflated += $0 }; text = inflated }
            let body = String(decoding: text, as: UTF8.self)
            let document = try? JSONValue(parsing: body, limits: JSONLimits(maxDepth: 8, maxBytes: 4 << 20))
            let message = SyncWire.Refusal.printable(document?["error"]?["message"]?.stringValue ?? String(body.prefix(200)), limit: 800)
            let code = (document?["error"]?["code"]?.stringValue).map { " " + SyncWire.Refusal.printable($0, limit: 100) } ?? ""
            // Refused for who this node is: a follower stops on these, and retries on any other.
            let kind: ConcordError.Code = response.status.code == 401 ? .unauthorized : response.status.code == 403 && code == " forbidden" ? .forbidden : .peer
            throw PeerRefusal(
                error: ConcordError(kind, "\(baseURL)\(path) answered \(response.status.code)\(code): \(message)"),
                refused: SyncWire.refusals(inErrorDocument: body)
            )
        }
        var inflated = 0
        do {
            for try await buffer in response.body {
                let bytes = Array(buffer.readableBytesView)
                if let inflater {
                    try inflater.feed(bytes) { try consume($0) }
                } else {
                    inflated += bytes.count
                    guard inflated <= maxInflated else {
                        throw ConcordError(.tooLarge, "the peer's answer is larger than \(maxInflated) bytes, more than was asked for")
                    }
                    try consume(bytes[...])
                }
            }
            try inflater?.finish()
        } catch let error as ConcordError {
            throw error
        } catch {
            throw ConcordError(.peer, "the connection to \(baseURL) was cut while reading its answer: \(error)", cause: error)
        }
    }
}
