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

        public init(host: String, port: Int, limits: SyncLimits = SyncLimits(), tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil) {
            self.host = host
            self.port = port
            self.limits = limits
            self.tlsCertificatePath = tlsCertificatePath
            self.tlsKeyPath = tlsKeyPath
        }
    }

    /// Every route the server answers, as documented in docs/openapi.yaml (a test holds them equal).
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/health"), ("GET", "/metrics"), ("GET", "/v1/vector"), ("POST", "/v1/pull"), ("POST", "/v1/push"),
    ]

    let backend: any SyncBackend
    let configuration: Configuration
    let logger: Logger
    let metricsText: @Sendable () -> String

    /// - Parameter metricsText: renders `/metrics` (Prometheus text format).
    public init(backend: any SyncBackend, configuration: Configuration, logger: Logger, metricsText: @escaping @Sendable () -> String) {
        self.backend = backend
        self.configuration = configuration
        self.logger = logger
        self.metricsText = metricsText
    }

    /// Serves until the task is cancelled or the process is signalled. `onListening` receives the
    /// bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        let handlers = SyncHandlers(backend: backend, limits: configuration.limits, logger: logger)
        router.get("/health") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        router.get("/v1/vector") { request, _ in await handlers.respond(request) { try await handlers.vector(request) } }
        router.post("/v1/pull") { request, _ in await handlers.respond(request) { try await handlers.pull(request) } }
        router.post("/v1/push") { request, _ in await handlers.respond(request) { try await handlers.push(request) } }
        let server: HTTPServerBuilder
        switch (configuration.tlsCertificatePath, configuration.tlsKeyPath) {
        case (let cert?, let key?):
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            server = try .tls(.http1(), tlsConfiguration: tls)
        case (nil, nil):
            server = .http1()
        default:
            throw ConcordError(.invalidArgument, "give both --tls-cert and --tls-key, or neither")
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "concord"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        try await app.runService()
    }
}
