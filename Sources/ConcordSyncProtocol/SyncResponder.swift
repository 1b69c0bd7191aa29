import ConcordCore

/// How a node answers a peer's pull and push, whatever carries the bytes: the HTTP server, and
/// the simulation's in-memory network. No I/O of its own.
public struct SyncResponder: Sendable {
    public let backend: any SyncBackend
    public let limits: SyncLimits

    public init(backend: any SyncBackend, limits: SyncLimits) {
        self.backend = backend
        self.limits = limits
    }

    /// The runs a pull asks for, to be sent one at a time (the answer streams), then `end(after:)`.
    public func pull(_ request: SyncWire.PullRequest, peer: String) async throws -> MissingRuns {
        try await MissingRuns(source: SharedView(source: backend, policy: backend.sharingPolicy(for: peer)), have: request.have, heads: request.heads, exclude: request.exclude, budget: request.budget.narrowed(to: limits.budget))
    }

    /// The end line once `runs` has given every run it will.
    public func end(after runs: MissingRuns) async -> SyncWire.BatchEnd {
        SyncWire.BatchEnd(
            more: runs.more, vector: runs.vector, heads: runs.headsForPeer, setAside: runs.setAside, limits: limits.advertised,
            openings: try? await backend.openingsGeneration(), stubs: try? await backend.stubsCursor(),
            checkpoints: (try? await backend.checkpointNumbers()) ?? nil
        )
    }

    /// The checkpoints a pull asked for (those numbered above its `checkpoints`), with their
    /// signers' keys: sent only on an answer's last page, after every event, so that a puller
    /// that stores them holds what they name. Empty when the pull did not ask or `more` is set.
    public func checkpoints(for request: SyncWire.PullRequest, after runs: MissingRuns) async throws -> IngestBatch {
        guard let after = request.checkpointsAfter, !runs.more else { return IngestBatch() }
        let checkpoints = try await backend.heldCheckpoints(after: after.entries, limit: SyncLimits.maxCheckpointsPerBatch)
        var keys: [OriginKey] = []
        for signer in Set(checkpoints.map(\.signer)).sorted() {
            if let key = try await backend.originKey(signer) { keys.append(key) }
        }
        return IngestBatch(keys: keys, checkpoints: checkpoints)
    }

    /// The openings of the asked-for stubs that this node holds and may share with `peer`, in
    /// `(origin, seq)` order within the budget; `more` when the budget ran out first (the peer
    /// asks again for the rest after the last event sent). At most `SyncWire.maxStubsPerPage`
    /// held seqs are looked at a request, whatever the ranges claim (an honest request never
    /// names more); past that the answer says `more`.
    public func openings(_ request: SyncWire.OpeningsRequest, peer: String) async throws -> (events: [Event], more: Bool) {
        let view = SharedView(source: backend, policy: try await backend.sharingPolicy(for: peer))
        let vector = try await backend.versionVector()
        var events: [Event] = []
        var bytes = 0
        var budgetOfSeqs = UInt64(SyncWire.maxStubsPerPage)
        for range in request.stubs {
            // Only what this node holds, and no more seqs than a page of stubs.
            let last = min(range.last, vector[range.origin])
            var after = range.first - 1
            while after < last {
                guard budgetOfSeqs > 0 else { return (events, true) }
                let through = min(last, after + min(1000, budgetOfSeqs))
                budgetOfSeqs -= through - after
                for event in try await view.events(of: range.origin, after: after, through: through) where event.disclosure == .full && event.commitment != nil {
                    let weight = event.exchangeLineBytes
                    guard events.count < request.maxEvents, bytes + weight <= request.maxBytes else { return (events, true) }
                    events.append(event)
                    bytes += weight
                }
                after = through
            }
        }
        return (events, false)
    }

    /// The stubs this node stored after the cursor, a page at a time.
    public func stubs(since: Int64) async throws -> SyncWire.StubsPage {
        let page = try await backend.withheld(storedAfter: since, limit: SyncWire.maxStubsPerPage)
        return SyncWire.StubsPage(stubs: page.ranges, through: page.through, more: page.more, openings: try await backend.openingsGeneration())
    }

    /// A whole pull answer as NDJSON (for callers that do not stream).
    public func pullAnswer(_ request: SyncWire.PullRequest, peer: String) async throws -> (body: [UInt8], events: Int) {
        var runs = try await pull(request, peer: peer)
        var body: [UInt8] = []
        var events = 0
        while let run = try await runs.next() {
            BatchWriter.append(run.batch, to: &body, compact: true)
            events += run.events.count
        }
        BatchWriter.append(try await checkpoints(for: request, after: runs), to: &body)
        body += Array((await end(after: runs).json + "\n").utf8)
        return (body, events)
    }

    /// What a push leads to: stored (with any origins set aside), or refused whole.
    public enum PushOutcome: Sendable {
        case stored(SyncWire.PushResult, inserted: Int)
        /// Every origin of the batch was refused: the answer is the first refusal's error, listing all.
        case refused(ConcordError, [SyncWire.Refusal])
    }

    /// Verifies and stores a pushed batch, origin by origin.
    public func push(_ batch: IngestBatch, from peer: String) async throws -> PushOutcome {
        let result = try await backend.ingest(batch, from: peer)
        let firstSeqs = Dictionary(batch.events.map { ($0.origin, $0.seq) }, uniquingKeysWith: min)
        let refused = result.refused.map { SyncWire.Refusal($0, seq: firstSeqs[$0.origin] ?? 0) }
        let refusedOrigins = Set(refused.map(\.origin))
        let stored = Set(batch.events.map(\.origin)).subtracting(refusedOrigins)
        if !refused.isEmpty || !stored.isEmpty { try await backend.recordSetAside(peer: peer, refused: refused, stored: stored) }
        // An error answer stores nothing: when a checkpoint or a late opening of the batch was
        // stored, the answer is 200 with the refusals listed.
        if let first = result.refused.first, result.inserted == 0, result.alreadyHeld == 0, result.checkpointsStored == 0, result.openingsStored == 0 {
            let message = result.refused.count == 1 ? first.message : "\(first.message) (and \(result.refused.count - 1) other origin(s) refused: see \"refused\")"
            return .refused(ConcordError(first.code, message), refused)
        }
        let vector = try await backend.versionVector()
        return .stored(SyncWire.PushResult(accepted: result.inserted, alreadyHeld: result.alreadyHeld, vector: vector, refused: refused), inserted: result.inserted)
    }
}
