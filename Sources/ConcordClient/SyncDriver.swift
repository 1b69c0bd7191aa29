import ConcordCore
import ConcordSyncProtocol
import Logging

/// Runs a `SyncSession` against a peer: performs each action over HTTP and on the local node.
public struct SyncDriver: Sendable {
    let client: any SyncPeer
    let local: any SyncBackend
    let peerName: String
    let logger: Logger

    public init(client: any SyncPeer, local: any SyncBackend, peerName: String, logger: Logger) {
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
        // The next pull, fetched while the last batch is stored: its `have` is the vector this
        // node will hold once that batch is in. Used only if the session then asks for exactly it.
        var prefetched: (request: SyncWire.PullRequest, response: Task<(batch: IngestBatch, end: SyncWire.BatchEnd), any Error>)?
        // A prefetch not used is cancelled and awaited: nothing may run against the client after
        // the sync, or beside the pull that replaces it.
        func discardPrefetch() async {
            guard let ahead = prefetched else { return }
            prefetched = nil
            ahead.response.cancel()
            _ = try? await ahead.response.value
        }
        do {
            while true {
                switch action {
                case .pull(var request):
                    request.waitSeconds = waitSeconds
                    let (batch, end): (IngestBatch, SyncWire.BatchEnd)
                    if let ahead = prefetched, ahead.request == request {
                        // The prefetch is a task of its own: pass a cancellation of this sync on to it.
                        (batch, end) = try await withTaskCancellationHandler {
                            try await ahead.response.value
                        } onCancel: {
                            ahead.response.cancel()
                        }
                    } else {
                        await discardPrefetch()
                        (batch, end) = try await client.pull(request)
                    }
                    prefetched = nil
                    if end.more, !batch.events.isEmpty {
                        let next = SyncWire.PullRequest(have: request.have.adding(batch.events), maxEvents: request.maxEvents, waitSeconds: waitSeconds)
                        let client = self.client
                        prefetched = (next, Task { try await client.pull(next) })
                    }
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
                    // (The session ends only after a pull that said "no more": nothing is fetched ahead.)
                    await discardPrefetch()
                    return summary
                case .failed(let reason):
                    throw ConcordError(.peer, "sync with \(peerName) stopped: \(reason)")
                }
            }
        } catch {
            await discardPrefetch()
            throw error
        }
    }
}
