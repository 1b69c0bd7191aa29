import ConcordCore
import ConcordSyncProtocol
import Logging

/// Runs a `SyncSession` against a peer: performs each action over HTTP and on the local node.
public struct SyncDriver: Sendable {
    let client: SyncClient
    let local: any SyncBackend
    let peerName: String
    let logger: Logger

    public init(client: SyncClient, local: any SyncBackend, peerName: String, logger: Logger) {
        self.client = client
        self.local = local
        self.peerName = peerName
        self.logger = logger
    }

    /// Syncs until neither side lacks anything the other has (or, with `waitSeconds`, first waits
    /// on the peer for new events: one long-poll round).
    public func run(mode: SyncSession.Mode = .pullThenPush, maxEvents: Int = 5000, waitSeconds: Int = 0) async throws -> SyncSession.Summary {
        var session = SyncSession(mode: mode, maxEvents: maxEvents)
        var action = session.start(local: try local.versionVector())
        // The read models catch up once the peer has nothing more to send, not after each batch;
        // if the sync fails part-way, the next read catches them up instead.
        var unfolded = false
        while true {
            switch action {
            case .pull(var request):
                request.waitSeconds = waitSeconds
                let (batch, end) = try await client.pull(request)
                let result = batch.events.isEmpty ? IngestResult(inserted: 0, alreadyHeld: 0) : try local.ingest(batch, from: peerName)
                logger.info("pulled", metadata: ["peer": "\(peerName)", "received": "\(batch.events.count)", "new": "\(result.inserted)"])
                unfolded = unfolded || result.inserted > 0
                if unfolded, !end.more {
                    try local.catchUpReadModels()
                    unfolded = false
                }
                action = session.pulled(received: batch.events.count, inserted: result.inserted, more: end.more, remote: end.vector, local: try local.versionVector())
            case .fetchRemoteVector:
                action = session.receivedRemoteVector(try await client.vector().vector, local: try local.versionVector())
            case .push(let have):
                let (batch, _) = try local.missingBatch(have: have, maxEvents: maxEvents)
                let result = batch.events.isEmpty ? SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: have) : try await client.push(batch)
                logger.info("pushed", metadata: ["peer": "\(peerName)", "sent": "\(batch.events.count)", "accepted": "\(result.accepted)"])
                action = session.pushed(sent: batch.events.count, result: result, local: try local.versionVector())
            case .done(let summary):
                return summary
            case .failed(let reason):
                throw ConcordError(.peer, "sync with \(peerName) stopped: \(reason)")
            }
        }
    }
}
