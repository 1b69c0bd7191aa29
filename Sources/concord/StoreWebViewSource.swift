import ConcordCore
import ConcordProjections
import ConcordSyncProtocol
import ConcordWebView
import Synchronization

/// A store as the web view reads it, whichever backend holds it (`concord serve` wires the two).
struct StoreWebViewSource: WebViewSource {
    let backend: any HubBackend & ReadModelReader
    /// The overview's verification reads the whole log: done at most once a minute, however
    /// often the page is asked for.
    let lastOverview = OverviewCache()
    static let overviewLifetimeMillis: Int64 = 60_000

    init(backend: any HubBackend & ReadModelReader) {
        self.backend = backend
    }

    func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
        try await backend.queryReadModels(view, sql: sql, bindings)
    }

    func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] { try await backend.streamEvents(stream, view) }
    func readModelDigest(_ view: ReadModelView) async throws -> String { try await backend.readModelDigest(view) }

    func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) async throws -> String { try await backend.readModelDigest(view, sharedWith: policy) }
    func checkReadModels() async throws -> ReadModelCheck? { try await backend.checkReadModels() }
    func projectionStatus() async throws -> ProjectionStatus { try await backend.projectionStatus() }
    // The web view never writes: it has no way to ask for a rebuild.
    func rebuildReadModels(progress: (@Sendable (Int, Int) -> Void)?) async throws -> Int { throw ConcordError(.invalidArgument, "the web view is read-only") }

    func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? { try await backend.authenticate(token: token) }

    func sharingPolicy(for peer: String) async throws -> SharingPolicy { try await backend.sharingPolicy(for: peer) }

    func view(asOf: Int64?, seenBy: String?, validAt: Int64?) async throws -> ReadModelView {
        if let node = seenBy { return try await ViewOptions.seenBy(node, asOf: asOf, in: backend) }
        if let asOf { return .asOf(asOf) }
        if let validAt { return .validAt(validAt) }
        return .live
    }

    func nodeNames() async throws -> [OriginID: String] { try await backend.nodeNames() }

    func checkpointNodeNames() async throws -> [String] { Array(try await backend.checkpointSignerNames().values) }

    /// `concord export --audit --for PEER`'s file, but for the checkpoint that command signs
    /// first: the web view writes nothing.
    func auditBundle(for policy: SharingPolicy) async throws -> [UInt8] {
        var out: [UInt8] = []
        try await LogExport.forEachBatch(of: SharedView(source: backend, policy: policy)) { BatchWriter.append($0, to: &out) }
        out += Array(try await AuditBundle.digestLines(of: backend, sharedWith: policy).utf8)
        return out
    }

    func overview() async throws -> WebOverview {
        if let kept = lastOverview.value.withLock({ $0 }), Timestamp.nowMillis() - kept.verifiedAt < Self.overviewLifetimeMillis { return kept }
        let fresh = try await computeOverview()
        lastOverview.value.withLock { $0 = fresh }
        return fresh
    }

    /// What `concord verify` says, and what the node holds, read through the backend.
    private func computeOverview() async throws -> WebOverview {
        let vector = try await backend.versionVector()
        let names = try await backend.nodeNames()
        // What `concord verify` finds, by the same code, a line each.
        let found = try await VerifyCommand.findings(of: backend)
        var byNode: [String: (count: Int, newest: Int64)] = [:]
        for checkpoint in try await backend.heldCheckpoints() {
            let entry = byNode[checkpoint.node] ?? (0, .min)
            byNode[checkpoint.node] = (entry.count + 1, max(entry.newest, checkpoint.takenAt))
        }
        let conflicts = try await backend.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.conflicts", []).rows.first?.first
        return WebOverview(
            node: try await backend.nodeName(), origin: try await backend.ownOrigins().last,
            origins: try await backend.originKeys().map { key in
                WebOverview.Origin(origin: key.origin, node: names[key.origin], publicKey: Hex.encode(key.publicKey), events: vector[key.origin])
            },
            peers: try await backend.syncPeers().map { WebOverview.Peer(name: $0.name, url: $0.url, lastSync: $0.lastSync) },
            checkpointNodes: byNode.sorted { $0.key < $1.key }.map { ($0.key, $0.value.count, $0.value.newest) },
            verifiedAt: Timestamp.nowMillis(), faults: found.lines, forks: found.forks.count,
            conflicts: conflicts.flatMap { if case .integer(let value) = $0 { Int(value) } else { nil } } ?? 0,
            events: vector.eventCount, digest: try await backend.readModelDigest(.live)
        )
    }
}

final class OverviewCache: Sendable {
    let value = Mutex<WebOverview?>(nil)
}
