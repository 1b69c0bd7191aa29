import ConcordCore
import ConcordProjections
import ConcordSQLite
import ConcordSyncProtocol
import ConcordWebView
import Dispatch
import Synchronization

/// A store file as the web view reads it (`concord serve` wires the two).
struct StoreWebViewSource: WebViewSource {
    let backend: SQLiteSyncBackend
    var store: SQLiteEventStore { backend.store }
    /// The overview's verification reads the whole log: done at most once a minute, however
    /// often the page is asked for.
    let lastOverview = OverviewCache()
    static let overviewLifetimeMillis: Int64 = 60_000

    init(backend: SQLiteSyncBackend) {
        self.backend = backend
    }

    func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
        try await backend.queryReadModels(view, sql: sql, bindings)
    }

    func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] { try await backend.streamEvents(stream, view) }
    func readModelDigest(_ view: ReadModelView) async throws -> String { try await backend.readModelDigest(view) }

    func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) async throws -> String { try await backend.readModelDigest(view, sharedWith: policy) }
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

    func nodeNames() async throws -> [OriginID: String] {
        let store = self.store
        return try await blocking { try store.nodeNames() }
    }

    func checkpointNodeNames() async throws -> [String] {
        let store = self.store
        return try await blocking { Array(try store.checkpointSignerNames().values) }
    }

    /// `concord export --audit --for PEER`'s file, but for the checkpoint that command signs
    /// first: the web view writes nothing.
    func auditBundle(for policy: SharingPolicy) async throws -> [UInt8] {
        var out: [UInt8] = []
        try await LogExport.forEachBatch(of: SharedView(source: backend, policy: policy)) { BatchWriter.append($0, to: &out) }
        let store = self.store
        out += Array(try await AuditBundle.digestLines(of: backend, sharedWith: policy).utf8)
        return out
    }

    func overview() async throws -> WebOverview {
        if let kept = lastOverview.value.withLock({ $0 }), Timestamp.nowMillis() - kept.verifiedAt < Self.overviewLifetimeMillis { return kept }
        let fresh = try await computeOverview()
        lastOverview.value.withLock { $0 = fresh }
        return fresh
    }

    private func computeOverview() async throws -> WebOverview {
        let store = self.store
        return try await blocking {
            let node = try store.nodeInfo()
            let vector = try store.versionVector()
            let names = try store.nodeNames()
            let forks = try store.forks().filter(\.proven)
            let (explained, unexplained) = VerifyCommand.explainedByForks(try store.checkpointFaults(), forkedOrigins: Set(forks.map(\.event.origin)))
            var faults = try LogVerifier.verify(store).faults + unexplained
            faults.sort { ($0.origin, $0.seq) < ($1.origin, $1.seq) }
            var lines = faults.map { "FAULT origin \($0.origin) seq \($0.seq): \($0.kind.rawValue) (\($0.detail))" }
            lines += explained.map { "NOTE origin \($0.origin) seq \($0.seq): \($0.kind.rawValue) (\($0.detail))" }
            let integrity = try store.integrityCheck()
            if integrity != "ok" { lines.insert("FAULT sqlite integrity check: \(integrity)", at: 0) }
            lines += (try store.readModelDifferences() ?? []).map { "FAULT read model \($0)" }
            lines += forks.map { "FORK origin \($0.event.origin) seq \($0.event.seq): another history signed by the origin's key, offered by \($0.source)" }
            var byNode: [String: (count: Int, newest: Int64)] = [:]
            for checkpoint in try store.checkpoints() {
                let entry = byNode[checkpoint.node] ?? (0, .min)
                byNode[checkpoint.node] = (entry.count + 1, max(entry.newest, checkpoint.takenAt))
            }
            let conflicts = try store.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.conflicts", []).rows.first?.first
            return WebOverview(
                node: node.name, origin: node.origin,
                origins: try store.originKeys().map { key in
                    WebOverview.Origin(origin: key.origin, node: names[key.origin], publicKey: Hex.encode(key.publicKey), events: vector[key.origin])
                },
                peers: try store.peers().map { WebOverview.Peer(name: $0.name, url: $0.url, lastSync: $0.lastSync) },
                checkpointNodes: byNode.sorted { $0.key < $1.key }.map { ($0.key, $0.value.count, $0.value.newest) },
                verifiedAt: Timestamp.nowMillis(), faults: lines, forks: forks.count,
                conflicts: conflicts.flatMap { if case .integer(let value) = $0 { Int(value) } else { nil } } ?? 0,
                events: vector.eventCount, digest: try store.readModelDigest()
            )
        }
    }

    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

final class OverviewCache: Sendable {
    let value = Mutex<WebOverview?>(nil)
}
