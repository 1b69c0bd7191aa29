import ConcordCore
import ConcordSyncProtocol

/// The peer as `SyncDriver` sees it: the three calls of the sync API. `SyncClient` is the HTTP
/// one; tests drive the same driver against a peer in memory.
public protocol SyncPeer: Sendable {
    /// `GET /v1/vector`: the peer's name, vector and limits (nil from a peer that does not say them).
    func vector() async throws -> (node: String, vector: VersionVector, limits: SyncWire.Limits?)
    /// `POST /v1/pull`: one batch and its end line.
    func pull(_ pull: SyncWire.PullRequest) async throws -> (batch: IngestBatch, end: SyncWire.BatchEnd)
    /// `POST /v1/push`. A push the peer refused origin by origin returns those refusals (with an
    /// empty vector when it refused every one); any other refusal throws.
    func push(_ batch: IngestBatch) async throws -> SyncWire.PushResult
    /// `GET /v1/stubs`: one page of the events the peer holds as stubs.
    func stubs(after: EventID?) async throws -> (stubs: [SyncWire.StubRange], more: Bool, openings: UInt64)
    /// `POST /v1/openings/pull`: openings of this node's stubs that the peer may share with it.
    func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd)
    /// `POST /v1/openings/push`: openings of the peer's stubs, offered.
    func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult
}

extension SyncClient: SyncPeer {}
