import ConcordCore
import ConcordSyncProtocol

/// The PostgreSQL store as what sync needs from a node: `concord serve --store postgres://…`.
///
extension PostgresEventStore: HubBackend {
    public func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        try await ingest(batch, source: "peer \(peer)", policy: .setAside)
    }

    public func catchUpReadModels() async throws {
        try await foldNewEvents()
    }

    public func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
        try await authenticate(token: token).map { ($0.name, $0.readOnly) }
    }

    public func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult {
        let (stored, ignored) = try await storeLateOpenings(events)
        return SyncWire.OpeningsResult(stored: stored, ignored: ignored)
    }

    public func forkedOrigins() async throws -> [OriginID] {
        Array(Set(try await forkProofs().map(\.origin))).sorted()
    }

    public func setAsideOrigins() async throws -> [(peer: String, refusal: SyncWire.Refusal)] {
        try await setAside()
    }
}
