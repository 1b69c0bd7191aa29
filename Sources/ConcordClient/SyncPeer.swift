import ConcordCore
import ConcordSyncProtocol

/// The peer as `SyncDriver` sees it: the three calls of the sync API. `SyncClient` is the HTTP
/// one; tests drive the same driver against a peer in memory.
public protocol SyncPeer: Sendable {
    /// `GET /v1/vector`.
    func vector() async throws -> (node: String, vector: VersionVector)
    /// `POST /v1/pull`: one batch and its end line.
    func pull(_ pull: SyncWire.PullRequest) async throws -> (batch: IngestBatch, end: SyncWire.BatchEnd)
    /// `POST /v1/push`.
    func push(_ batch: IngestBatch) async throws -> SyncWire.PushResult
}

extension SyncClient: SyncPeer {}
