import ArgumentParser
import ConcordCore
import ConcordSQLite
import ConcordServer
import ConcordSyncProtocol
import Foundation
import Logging
import Metrics
import Prometheus

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve this node's record to peers over HTTP, for sync.",
        discussion: """
            Peers pull what they lack and push what this node lacks (docs/sync-protocol.md). Each peer presents a token issued here with concord token issue. Everything pushed is verified before it is stored, and a request beyond the limits is refused before anything is stored.

              concord serve --listen 127.0.0.1:7400
              concord serve --listen 0.0.0.0:7443 --tls-cert node.pem --tls-key node-key.pem

            The first line printed is the address served, such as "listening on http://127.0.0.1:7400" (with port 0 the system picks a free port; that line names it). GET /metrics gives Prometheus metrics and GET /health a liveness check. Stop with Ctrl-C.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Address and port to listen on. Keep 127.0.0.1 unless peers on other machines need it, and use TLS then.", valueName: "host:port"))
    var listen: String = "127.0.0.1:7400"

    @Option(help: ArgumentHelp("TLS certificate chain (PEM).", valueName: "file")) var tlsCert: String?
    @Option(help: ArgumentHelp("TLS private key (PEM).", valueName: "file")) var tlsKey: String?
    @Option(help: ArgumentHelp("Most events in one pushed batch or one pull answer.", valueName: "n")) var maxBatchEvents: Int = 5000
    @Option(help: ArgumentHelp("Largest request body accepted, compressed, in bytes.", valueName: "bytes")) var maxBodyBytes: Int = 16 << 20
    @Option(help: ArgumentHelp("Largest request body accepted once inflated, in bytes.", valueName: "bytes")) var maxInflatedBytes: Int = 64 << 20

    func run() async throws {
        try await CommandFailure.reportingAsync {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                throw ConcordError(.invalidArgument, "--listen takes HOST:PORT, such as 127.0.0.1:7400")
            }
            let host = String(listen[..<colon])
            let store = try storeOptions.openStore()
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let limits = SyncLimits(maxBodyBytes: maxBodyBytes, maxInflatedBytes: maxInflatedBytes, maxEventsPerBatch: maxBatchEvents)
            let server = SyncServer(
                backend: SQLiteSyncBackend(store: store),
                configuration: .init(host: host, port: port, limits: limits, tlsCertificatePath: tlsCert, tlsKeyPath: tlsKey),
                logger: storeOptions.logger,
                metricsText: { registry.emitToString() }
            )
            let scheme = tlsCert == nil ? "http" : "https"
            try await server.run { bound in
                FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(bound)\n".utf8))
            }
        }
    }
}
