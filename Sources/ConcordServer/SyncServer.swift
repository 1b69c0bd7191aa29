import ConcordCore
import ConcordSyncProtocol
import ConcordZlib
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore

/// The sync API over HTTP (docs/sync-protocol.md, docs/openapi.yaml), on Hummingbird 2.
public struct SyncServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var limits: SyncLimits
        /// PEM files; both or neither.
        public var tlsCertificatePath: String?
        public var tlsKeyPath: String?
        /// A request's head must arrive within this of the connection opening (or of the last
        /// answer on it), its body within this of its head; a connection idle this long is closed.
        public var headTimeout: Duration
        public var bodyTimeout: Duration
        public var idleTimeout: Duration
        /// Connections open at once, in all and from one address; requests served at once per peer.
        public var maxConnections: Int
        public var maxConnectionsPerAddress: Int
        public var maxRequestsPerPeer: Int

        public init(
            host: String, port: Int, limits: SyncLimits = SyncLimits(), tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil,
            headTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(75),
            maxConnections: Int = 512, maxConnectionsPerAddress: Int = 128, maxRequestsPerPeer: Int = 8
        ) {
            self.host = host
            self.port = port
            self.limits = limits
            self.tlsCertificatePath = tlsCertificatePath
            self.tlsKeyPath = tlsKeyPath
            self.headTimeout = headTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.maxConnectionsPerAddress = maxConnectionsPerAddress
            self.maxRequestsPerPeer = maxRequestsPerPeer
        }
    }

    /// Every route the server answers, as documented in docs/openapi.yaml (a test holds them equal).
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/health"), ("GET", "/metrics"), ("GET", "/v1/vector"), ("POST", "/v1/pull"), ("POST", "/v1/push"),
        ("GET", "/v1/stubs"), ("POST", "/v1/openings/pull"), ("POST", "/v1/openings/push"),
    ]

    let backend: any SyncBackend
    let configuration: Configuration
    let logger: Logger
    let metricsText: @Sendable () -> String
    let moreRoutes: @Sendable (Router<BasicRequestContext>) -> Void

    /// - Parameters:
    ///   - metricsText: renders `/metrics` (Prometheus text format).
    ///   - moreRoutes: adds routes beside the sync API's (the web view's, `/view`), which the
    ///     same limits and timeouts guard.
    public init(
        backend: any SyncBackend, configuration: Configuration, logger: Logger, metricsText: @escaping @Sendable () -> String,
        moreRoutes: @escaping @Sendable (Router<BasicRequestContext>) -> Void = { _ in }
    ) {
        self.backend = backend
        self.configuration = configuration
        self.logger = logger
        self.metricsText = metricsText
        self.moreRoutes = moreRoutes
    }

    /// Serves until the task is cancelled or the process is signalled. `onListening` receives the
    /// bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        try configuration.limits.validate()
        let router = Router()
        let handlers = SyncHandlers(backend: backend, limits: configuration.limits, maxRequestsPerPeer: configuration.maxRequestsPerPeer, logger: logger)
        router.add(middleware: MethodNotAllowedMiddleware(routes: Self.routes))
        router.get("/health") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        router.get("/v1/vector") { request, _ in await handlers.respond(request) { try await handlers.vector(request) } }
        router.post("/v1/pull") { request, _ in await handlers.respond(request) { try await handlers.pull(request) } }
        router.post("/v1/push") { request, _ in await handlers.respond(request) { try await handlers.push(request) } }
        router.get("/v1/stubs") { request, _ in await handlers.respond(request) { try await handlers.stubs(request) } }
        router.post("/v1/openings/pull") { request, _ in await handlers.respond(request) { try await handlers.pullOpenings(request) } }
        router.post("/v1/openings/push") { request, _ in await handlers.respond(request) { try await handlers.pushOpenings(request) } }
        moreRoutes(router)

        let table = CountsByKey(limit: configuration.maxConnectionsPerAddress)
        let (head, body) = (TimeAmount(configuration.headTimeout), TimeAmount(configuration.bodyTimeout))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [PerAddressLimitHandler(table: table), RequestTimeoutHandler(headTimeout: head, bodyTimeout: body)],
            idleTimeout: TimeAmount(configuration.idleTimeout)
        )
        let server: HTTPServerBuilder
        switch (configuration.tlsCertificatePath, configuration.tlsKeyPath) {
        case (let cert?, let key?):
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
        case (nil, nil):
            server = .http1(configuration: http1)
        default:
            throw ConcordError(.invalidArgument, "give both --tls-cert and --tls-key, or neither")
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "concord",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)
            ),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        try await app.runService()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
