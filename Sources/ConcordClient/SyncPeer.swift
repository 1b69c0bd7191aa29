import ConcordCore
import ConcordSyncProtocol

/// The peer as `SyncDriver` sees it: vector, pull and push, and the late-openings calls of
/// `OpeningsPeer`. `SyncClient` is the HTTP one; tests drive the same driver against a peer in
/// memory.
public protocol SyncPeer: OpeningsPeer {
    /// `GET /v1/vector`: the peer's name, vector and limits (nil from a peer that does not say them).
    func vector() async throws -> SyncWire.VectorDocument
    /// `POST /v1/pull`: one batch and its end line.
    func pull(_ pull: SyncWire.PullRequest) async throws -> (batch: IngestBatch, end: SyncWire.BatchEnd)
    /// `POST /v1/push`. A push the peer refused origin by origin returns those refusals (with an
    /// empty vector when it refused every one); any other refusal throws.
    func push(_ batch: IngestBatch) async throws -> SyncWire.PushResult
}

extension SyncClient: SyncPeer {}
