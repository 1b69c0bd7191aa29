import ArgumentParser
import ConcordCore
import ConcordServer
import ConcordSyncProtocol
import Foundation
import ConcordWebView
import Logging
import Metrics
import Prometheus

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve this node's record to peers over HTTP, for sync, and to people in a web view.",
        discussion: """
            Peers pull what they lack and push what this node lacks (docs/sync-protocol.md). Each peer presents a token issued here with concord token issue. Everything pushed is verified before it is stored, and a request beyond the limits is refused before anything is stored.

              concord serve --listen 127.0.0.1:7400
              concord serve --listen 0.0.0.0:7443 --tls-cert node.pem --tls-key node-key.pem

            The same address serves a read-only web view of the record at /view, for auditors and regional staff: the node and its verification, cases, meetings, decisions and actions with the filters concord query has, each stream's timeline (what each event changed), the as-of control (recorded by, as seen by a node at its signed checkpoint, happened by), what changed between two dates, CSV of every list and the audit bundle (docs/audit.md). It asks once for a read-only token of a peer to which this node's sharing rules withhold nothing (concord token issue auditor --read-only) and keeps it in a cookie. A store on PostgreSQL has no web view yet.

            The first line printed is the address served, such as "listening on http://127.0.0.1:7400" (with port 0 the system picks a free port; that line names it). GET /metrics gives Prometheus metrics and GET /health a liveness check. Stop with Ctrl-C.

            A waiting long poll is answered as soon as events are stored here, whether pushed by a peer or recorded by another concord process on this store. Batch limits may be raised but not set below the protocol's floor (1000 events, 8 MiB), which every valid run of events between two seals fits.
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
    @Option(help: ArgumentHelp("Seconds a client has to send a request's head after connecting (or after its last answer); it has six times as long for the body.", valueName: "seconds")) var readTimeout: Int = 10
    @Option(help: ArgumentHelp("Connections open at once, in all.", valueName: "n")) var maxConnections: Int = 512
    @Option(help: ArgumentHelp("Connections open at once from one address.", valueName: "n")) var maxConnectionsPerAddress: Int = 128
    @Option(help: ArgumentHelp("Requests one peer (one token) may have served at once.", valueName: "n")) var maxRequestsPerPeer: Int = 8
    @Option(help: ArgumentHelp("Longest a long poll waits for new events (0 to 60 seconds).", valueName: "seconds")) var maxWaitSeconds: Int = 60

    var limits: SyncLimits { SyncLimits(maxBodyBytes: maxBodyBytes, maxInflatedBytes: maxInflatedBytes, maxEventsPerBatch: maxBatchEvents, maxWaitSeconds: maxWaitSeconds) }

    func validate() throws {
        do {
            try limits.validate()
        } catch let error as ConcordError {
            throw ValidationError(error.message)
        }
        guard (1...3600).contains(readTimeout) else { throw ValidationError("--read-timeout takes 1 to 3600 seconds") }
        guard maxConnections >= 1, maxConnectionsPerAddress >= 1, maxRequestsPerPeer >= 1 else {
            throw ValidationError("--max-connections, --max-connections-per-address and --max-requests-per-peer must be at least 1")
        }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                throw ConcordError(.invalidArgument, "--listen takes HOST:PORT, such as 127.0.0.1:7400")
            }
            let host = String(listen[..<colon])
            // Commits by other processes on the store wake long polls too (SQLite: its WAL
            // watched; PostgreSQL: NOTIFY).
            let (backend, closeStore) = try await storeOptions.openForServing()
            let webView = try WebView(source: StoreWebViewSource(backend: backend), secureCookie: tlsCert != nil, logger: storeOptions.logger)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let server = SyncServer(
                backend: backend,
                configuration: .init(
                    host: host, port: port, limits: limits, tlsCertificatePath: tlsCert, tlsKeyPath: tlsKey,
                    headTimeout: .seconds(readTimeout), bodyTimeout: .seconds(readTimeout * 6),
                    maxConnections: maxConnections, maxConnectionsPerAddress: maxConnectionsPerAddress, maxRequestsPerPeer: maxRequestsPerPeer
                ),
                logger: storeOptions.logger,
                metricsText: { registry.emitToString() },
                moreRoutes: { [webView] router in webView.addRoutes(to: router) }
            )
            let scheme = tlsCert == nil ? "http" : "https"
            do {
                try await server.run { bound in
                    FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(bound)\n".utf8))
                }
                await closeStore()
            } catch {
                await closeStore()
                throw error
            }
        }
    }
}
