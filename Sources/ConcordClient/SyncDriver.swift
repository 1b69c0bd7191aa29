import ConcordCore
import ConcordSyncProtocol
import Logging
import Synchronization

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

    private typealias PullAnswer = (batch: IngestBatch, end: SyncWire.BatchEnd)

    /// Syncs until neither side lacks anything the other has, but for origins set aside (or, with
    /// `waitSeconds`, first waits on the peer for new events: one long-poll round).
    /// - Parameters:
    ///   - excluding: origins already set aside (an earlier round of a follow): left out.
    ///   - proofs: our side of forks to send the peer (origin: from seq), in the push.
    public func run(
        mode: SyncSession.Mode = .pullThenPush, budget: BatchBudget = SyncLimits().budget, waitSeconds: Int = 0,
        excluding: Set<OriginID> = [], proofs: [OriginID: UInt64] = [:]
    ) async throws -> SyncSession.Summary {
        var session = SyncSession(mode: mode, budget: budget, excluding: excluding, proofs: proofs)
        var action = session.start(local: try await local.versionVector())
        // The read models catch up once the peer has nothing more to send, not after each batch;
        // if the sync fails part-way, the next read catches them up instead.
        var unfolded = false
        // The next pull, fetched while the last batch is stored: its `have` (and heads) are what
        // this node will hold once that batch is in. Used only if the session then asks for exactly it.
        var prefetched: (request: SyncWire.PullRequest, response: Task<PullAnswer, any Error>)?
        // The peer's openings number, from its last end line.
        var remoteOpenings: UInt64?
        var remoteStubs: Int64?
        // The peer's checkpoint numbers, from its last end line (nil: it keeps none).
        var remoteCheckpoints: VersionVector?
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
                    request.heads = try await local.heads(at: request.have)
                    let answer: PullAnswer
                    if let ahead = prefetched, ahead.request == request {
                        // The prefetch is a task of its own: pass a cancellation of this sync on to it.
                        answer = try await withTaskCancellationHandler {
                            try await ahead.response.value
                        } onCancel: {
                            ahead.response.cancel()
                        }
                    } else {
                        await discardPrefetch()
                        answer = try await client.pull(request)
                    }
                    prefetched = nil
                    let (batch, end) = answer
                    remoteOpenings = end.openings ?? remoteOpenings
                    remoteStubs = end.stubs ?? remoteStubs
                    remoteCheckpoints = end.checkpoints ?? remoteCheckpoints
                    if end.more, !batch.events.isEmpty {
                        let next = Self.following(request, after: batch)
                        let client = self.client
                        prefetched = (next, Task { try await client.pull(next) })
                    }
                    let result = batch.events.isEmpty && batch.seals.isEmpty ? IngestResult(inserted: 0, alreadyHeld: 0) : try await local.ingest(batch, from: peerName)
                    logger.info("pulled", metadata: ["peer": "\(peerName)", "received": "\(batch.events.count)", "new": "\(result.inserted)", "refused": "\(result.refused.count)"])
                    unfolded = unfolded || result.inserted > 0
                    let localVector = try await local.versionVector()
                    if unfolded, !end.more {
                        try await local.catchUpReadModels()
                        unfolded = false
                    }
                    action = session.pulled(
                        received: batch.events.count, result: result, end: end, local: localVector,
                        mismatchedHeads: try await mismatchedHeads(end)
                    )
                case .fetchRemoteVector:
                    let remote = try await client.vector()
                    remoteOpenings = remote.openings ?? remoteOpenings
                    remoteStubs = remote.stubs ?? remoteStubs
                    action = session.receivedRemoteVector(remote.vector, limits: remote.limits, local: try await local.versionVector())
                case .push(let have, let exclude, let proofRuns, let budget):
                    let policy = try await local.sharingPolicy(for: peerName)
                    var runs = try await MissingRuns(source: SharedView(source: local, policy: policy), have: have, exclude: exclude, proofRuns: proofRuns, budget: budget)
                    let batch = try await runs.batch()
                    var result = batch.events.isEmpty ? SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: have) : try await client.push(batch)
                    // Refused whole: nothing was stored, so the peer's vector is what it was.
                    if result.accepted == 0, result.alreadyHeld == 0, !result.refused.isEmpty, result.vector.entries.isEmpty { result.vector = have }
                    // Runs this node cannot send at all are set aside like the peer's refusals.
                    result.refused += runs.setAside
                    logger.info("pushed", metadata: ["peer": "\(peerName)", "sent": "\(batch.events.count)", "accepted": "\(result.accepted)", "refused": "\(result.refused.count)"])
                    action = session.pushed(sent: batch.events.count, proofs: Set(proofRuns.keys), result: result, local: try await local.versionVector())
                case .done(var summary):
                    // (The session ends only after a pull that said "no more": nothing is fetched ahead.)
                    await discardPrefetch()
                    let reconciler = OpeningsReconciler(local: local, peerName: peerName, budget: session.peerLimits?.budget.narrowed(to: budget) ?? budget)
                    let openings = try await reconciler.run(
                        with: client, remoteOpenings: remoteOpenings, remoteStubs: remoteStubs, ask: mode != .pushOnly, offer: mode != .pullOnly
                    )
                    summary.openingsReceived = openings.received
                    summary.openingsSent = openings.sent
                    summary.requests += openings.requests
                    if openings.received + openings.sent > 0 {
                        logger.info("openings", metadata: ["peer": "\(peerName)", "received": "\(openings.received)", "sent": "\(openings.sent)"])
                    }
                    if let remote = remoteCheckpoints {
                        // Best-effort: the events are synced; checkpoints not exchanged now go next time.
                        do {
                            summary.requests += try await exchangeCheckpoints(remote: remote, mode: mode, budget: budget, excluding: summary.setAside)
                        } catch is CancellationError {
                            throw CancellationError()
                        } catch {
                            logger.warning("checkpoints were not exchanged", metadata: ["peer": "\(peerName)", "error": "\(error)"])
                        }
                    }
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

    /// Once both sides hold the same events: takes the peer's signed checkpoints this node lacks,
    /// signs one of its own, and gives the peer those it lacks (docs/audit.md). Returns the
    /// requests made. A peer that keeps no checkpoints is never asked (`remote` is nil then).
    private func exchangeCheckpoints(remote: VersionVector, mode: SyncSession.Mode, budget: BatchBudget, excluding setAside: [SyncWire.Refusal]) async throws -> Int {
        guard let mine = try await local.checkpointNumbers() else { return 0 }
        var requests = 0
        if mode != .pushOnly, remote.entries.contains(where: { $0.value > mine[$0.key] }) {
            let have = try await local.versionVector()
            var request = SyncWire.PullRequest(have: have, heads: try await local.heads(at: have), exclude: Set(setAside.map(\.origin)), maxEvents: budget.maxEvents, maxBytes: budget.maxBytes)
            request.checkpointsAfter = mine
            let (batch, _) = try await client.pull(request)
            requests += 1
            if !batch.events.isEmpty || !batch.checkpoints.isEmpty {
                let result = try await local.ingest(batch, from: peerName)
                logger.info("checkpoints", metadata: ["peer": "\(peerName)", "received": "\(batch.checkpoints.count)", "stored": "\(result.checkpointsStored)"])
                if result.inserted > 0 { try await local.catchUpReadModels() }
            }
        }
        guard mode != .pullOnly else { return requests }
        try await local.signCheckpoint()
        let offer = try await local.heldCheckpoints(after: remote.entries, limit: SyncLimits.maxCheckpointsPerBatch)
        guard !offer.isEmpty else { return requests }
        var keys: [OriginKey] = []
        for signer in Set(offer.map(\.signer)).sorted() {
            if let key = try await local.originKey(signer) { keys.append(key) }
        }
        _ = try await client.push(IngestBatch(keys: keys, checkpoints: offer))
        logger.info("checkpoints", metadata: ["peer": "\(peerName)", "sent": "\(offer.count)"])
        return requests + 1
    }

    /// The pull the session will ask for next if nothing is refused: what this node holds once
    /// `batch` is stored, and the hashes of the events it then holds last.
    private static func following(_ request: SyncWire.PullRequest, after batch: IngestBatch) -> SyncWire.PullRequest {
        var next = request
        next.have = request.have.adding(batch.events)
        for event in batch.events where event.seq == next.have[event.origin] { next.heads[event.origin] = event.hash }
        return next
    }

    /// Origins whose event at the seq the peer's end line names differs from ours: a fork the
    /// peer could not see (we hold more than it does).
    private func mismatchedHeads(_ end: SyncWire.BatchEnd) async throws -> [OriginID: UInt64] {
        var mismatched: [OriginID: UInt64] = [:]
        for (origin, hash) in end.heads {
            let seq = end.vector[origin]
            if seq >= 1, let mine = try await local.eventHash(origin, seq: seq), mine != hash { mismatched[origin] = seq }
        }
        return mismatched
    }

    /// Keeps syncing until cancelled: one full sync first, then at once both ways, each as soon as
    /// there is something to do. Pulls long-poll the peer (it answers as soon as it stores new
    /// events); a commit here (`localCommits`, by any process when the store watches others) is
    /// pushed while the long poll waits. `onRound` gets each round's summary.
    ///
    /// A round that fails (the peer restarting, the network down, the peer busy), the first one
    /// included, is tried again after a pause that grows from 1 s to 30 s, and `onProblem` is
    /// told; only a peer refusing who this node is (`unauthorized`, `forbidden`) ends the follow.
    /// A push that failed is tried again without waiting for another commit. An origin set aside
    /// stays aside for the rest of the follow (its refusal is not repeated every round), but for
    /// refusals that can pass (a clock ahead, an origin not yet on a roster), which are tried
    /// again after five minutes (the push loop looks at least that often). Our side of a fork the
    /// peer showed is pushed at once, and again until a push of it succeeds.
    public func follow(
        mode: SyncSession.Mode = .pullThenPush, budget: BatchBudget = SyncLimits().budget, waitSeconds: Int = 25,
        localCommits: CommitSignal, onRound: @escaping @Sendable (SyncSession.Summary) async -> Void,
        onProblem: @escaping @Sendable (any Error) -> Void = { _ in }
    ) async throws {
        let knownRemote = Locked(VersionVector())
        let setAside = KnownOrigins()
        // Our sides of forks found by pulls, not yet pushed (origin: from seq).
        let unsentProofs = Locked<[OriginID: UInt64]>([:])
        @Sendable func round(_ roundMode: SyncSession.Mode, waitSeconds: Int = 0) async throws -> SyncSession.Summary {
            let summary = try await run(mode: roundMode, budget: budget, waitSeconds: waitSeconds, excluding: setAside.get())
            knownRemote.set(summary.remoteVector)
            setAside.add(summary.setAside)
            await onRound(summary)
            guard mode != .pullOnly else { return summary }
            // Our side of a fork the peer showed us: pushed now, so that it keeps the proof too.
            let forks = summary.setAside.filter { $0.code == ConcordError.Code.fork.rawValue && $0.seq >= 1 }
            let proofs = unsentProofs.update { pending in
                for fork in forks { pending[fork.origin] = min(pending[fork.origin] ?? .max, fork.seq) }
                return pending
            }
            if !proofs.isEmpty {
                await onRound(try await run(mode: .pushOnly, budget: budget, excluding: setAside.get(), proofs: proofs))
                unsentProofs.update { pending in
                    for (origin, seq) in proofs where pending[origin] == seq { pending[origin] = nil }
                }
            }
            return summary
        }
        /// Runs `body` until it returns false or the task is cancelled, trying again after a
        /// growing pause when it fails.
        @Sendable func repeating(_ body: @Sendable () async throws -> Bool) async throws {
            var pause = Duration.seconds(1)
            while !Task.isCancelled {
                do {
                    guard try await body() else { return }
                    pause = .seconds(1)
                } catch let error as ConcordError where [.unauthorized, .forbidden].contains(error.code) {
                    throw error
                } catch is CancellationError {
                    return
                } catch {
                    guard !Task.isCancelled else { return }
                    onProblem(error)
                    try? await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(30))
                }
            }
        }
        let seenBefore = localCommits.generation
        // The first round, a full sync, until it succeeds.
        try await repeating {
            _ = try await round(mode)
            return false
        }
        try Task.checkCancellation()
        try await withThrowingTaskGroup(of: Void.self) { group in
            if mode != .pushOnly {
                group.addTask {
                    try await repeating {
                        let started = ContinuousClock.now
                        let summary = try await round(.pullOnly, waitSeconds: waitSeconds)
                        // A peer that answers at once with nothing (it does not long-poll) is asked
                        // at most once a second.
                        if summary.pulled == 0, ContinuousClock.now - started < .seconds(1) {
                            try await Task.sleep(until: started + .seconds(1))
                        }
                        return true
                    }
                }
            }
            if mode != .pullOnly {
                let local = self.local
                group.addTask {
                    // The commit generation pushed up to: moved on only once a push has succeeded,
                    // so that a failed one is tried again without waiting for another commit.
                    let pushed = Locked(seenBefore)
                    try await repeating {
                        let target = await localCommits.wait(after: pushed.get(), timeout: KnownOrigins.retryAfter)
                        // Events pulled from the peer wake this loop too; push only what it lacks.
                        let remote = knownRemote.get()
                        let excluded = setAside.get()
                        if try await local.versionVector().entries.contains(where: { !excluded.contains($0.key) && remote[$0.key] < $0.value }) {
                            _ = try await round(.pushOnly)
                        }
                        pushed.set(target)
                        return true
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// A value a following sync's loops share.
private final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) {
        self.value = Mutex(value)
    }

    func get() -> Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func update<Result: Sendable>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}

/// The origins a following sync's rounds have set aside, each until when.
private final class KnownOrigins: Sendable {
    private let origins = Mutex<[OriginID: ContinuousClock.Instant]>([:])
    /// Refusals that can pass without anything changing on the node that sent the events.
    private static let passing: Set<String> = [ConcordError.Code.clockAhead.rawValue, ConcordError.Code.untrustedOrigin.rawValue]
    /// How long those stay aside.
    static let retryAfter = Duration.seconds(300)

    func get() -> Set<OriginID> {
        let now = ContinuousClock.now
        return origins.withLock { origins in
            origins = origins.filter { $0.value > now }
            return Set(origins.keys)
        }
    }

    func add(_ refusals: [SyncWire.Refusal]) {
        let now = ContinuousClock.now
        origins.withLock { origins in
            for refusal in refusals {
                origins[refusal.origin] = Self.passing.contains(refusal.code) ? now + Self.retryAfter : now + .seconds(Int64.max / 4)
            }
        }
    }
}
