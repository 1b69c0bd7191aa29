import ConcordCore

/// One sync with a peer, as a pure state machine: the driver performs each `Action` (an HTTP call
/// and a store operation) and reports the outcome; the session decides what comes next. Pull
/// first (what the peer has that this node lacks), then push (what the peer lacks), in batches,
/// until both sides' vectors say nothing is missing, except for origins set aside.
///
/// An origin is set aside when either side refuses its events (a fork, events that do not verify,
/// a run too large to send): its events are neither asked for nor sent again in this session, and
/// every other origin goes on. A fork found by the peer (its events at a seq differ from ours) is
/// answered with our side of it once, so that both sides keep the proof.
public struct SyncSession: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case pullThenPush = "both"
        case pullOnly = "pull"
        case pushOnly = "push"
    }

    public enum Action: Sendable, Equatable {
        /// POST /v1/pull with this request (the driver adds the heads of `have`); ingest the
        /// batch; then call `pulled`.
        case pull(SyncWire.PullRequest)
        /// GET /v1/vector; then call `receivedRemoteVector`.
        case fetchRemoteVector
        /// Send the local events the peer lacks given `have`, one batch within `budget`, leaving
        /// out `exclude` and sending for each origin in `proofRuns` its run from that seq; then
        /// call `pushed`.
        case push(have: VersionVector, exclude: Set<OriginID>, proofRuns: [OriginID: UInt64], budget: BatchBudget)
        case done(Summary)
        case failed(String)
    }

    public struct Summary: Sendable, Equatable {
        public var pulled = 0
        public var pushed = 0
        public var alreadyHeld = 0
        public var requests = 0
        public var remoteVector = VersionVector()
        /// Origins set aside, in the order they were, with the reason (by either side).
        public var setAside: [SyncWire.Refusal] = []
        /// Openings of held stubs received from the peer, and sent to it (late openings).
        public var openingsReceived = 0
        public var openingsSent = 0

        public var forks: Int { setAside.filter { $0.code == ConcordError.Code.fork.rawValue }.count }
    }

    public let mode: Mode
    /// What this node takes in one pull answer.
    public let budget: BatchBudget
    public private(set) var summary = Summary()
    /// The peer's limits, once it has said them; until then pushes keep to this node's own.
    public private(set) var peerLimits: SyncWire.Limits?
    /// Bounds a session against a peer that keeps answering "more" without sending anything.
    private let maxRequests: Int
    private var setAside: Set<OriginID> = []
    /// Origins whose head the peer's answer showed to differ from ours at its seq: asked for again
    /// from that seq (once), so that the peer's event there arrives with its proof.
    private var probes: [OriginID: UInt64] = [:]
    private var probed: Set<OriginID> = []
    /// Our side of forks found, to send to the peer once: origin -> from seq.
    private var proofsToSend: [OriginID: UInt64] = [:]

    /// - Parameter excluding: origins already set aside (by an earlier round of a following
    ///   sync): left out of this session's pulls and pushes from the start.
    /// - Parameter proofs: our side of forks (origin: from seq) to send once in the push phase.
    public init(
        mode: Mode = .pullThenPush, budget: BatchBudget = SyncLimits().budget, excluding: Set<OriginID> = [],
        proofs: [OriginID: UInt64] = [:], maxRequests: Int = 1_000_000
    ) {
        self.mode = mode
        self.budget = budget
        self.maxRequests = maxRequests
        setAside = excluding
        proofsToSend = proofs
    }

    public init(mode: Mode = .pullThenPush, maxEvents: Int, maxRequests: Int = 1_000_000) {
        self.init(mode: mode, budget: BatchBudget(maxEvents: maxEvents, maxBytes: SyncLimits().maxInflatedBytes), maxRequests: maxRequests)
    }

    public mutating func start(local: VersionVector) -> Action {
        mode == .pushOnly ? request(.fetchRemoteVector) : request(.pull(pullRequest(local: local)))
    }

    private func pullRequest(local: VersionVector) -> SyncWire.PullRequest {
        var have = local
        for (origin, seq) in probes { have[origin] = seq }
        return SyncWire.PullRequest(have: have, exclude: setAside, maxEvents: budget.maxEvents, maxBytes: budget.maxBytes)
    }

    /// After a pull: how many events came and were new, what this node refused of them, the end
    /// line, and the origins whose head at the peer's seq differs from ours (`end.heads`, as
    /// compared by the driver).
    public mutating func pulled(
        received: Int, result: IngestResult, end: SyncWire.BatchEnd, local: VersionVector, mismatchedHeads: [OriginID: UInt64] = [:]
    ) -> Action {
        summary.pulled += result.inserted
        summary.alreadyHeld += result.alreadyHeld
        summary.remoteVector = end.vector
        if let limits = end.limits { peerLimits = limits }
        let probing = !probes.isEmpty
        probes = [:]
        var changed = false
        for refusal in result.refused where !setAside.contains(refusal.origin) {
            let seq = refusal.proof?.seq ?? 0
            setAside(SyncWire.Refusal(refusal, seq: seq))
            if refusal.proof != nil, seq >= 1 { proofsToSend[refusal.origin] = seq }
            changed = true
        }
        for refusal in end.setAside where !setAside.contains(refusal.origin) {
            setAside(refusal)
            changed = true
        }
        for (origin, seq) in mismatchedHeads where !probed.contains(origin) && !setAside.contains(origin) {
            probes[origin] = seq
            probed.insert(origin)
            changed = true
        }
        if end.more || !probes.isEmpty {
            guard result.inserted > 0 || changed || probing else {
                return .failed("the peer says it has more events but sent none this node could use")
            }
            return request(.pull(pullRequest(local: local)))
        }
        guard mode == .pullThenPush else { return .done(summary) }
        return nextPush(remote: end.vector, local: local)
    }

    /// Compatibility for callers that only count (no refusals, no heads).
    public mutating func pulled(received: Int, inserted: Int, more: Bool, remote: VersionVector, local: VersionVector) -> Action {
        pulled(received: received, result: IngestResult(inserted: inserted, alreadyHeld: received - inserted), end: SyncWire.BatchEnd(more: more, vector: remote), local: local)
    }

    public mutating func receivedRemoteVector(_ remote: VersionVector, limits: SyncWire.Limits? = nil, local: VersionVector) -> Action {
        summary.remoteVector = remote
        if let limits { peerLimits = limits }
        return nextPush(remote: remote, local: local)
    }

    /// After a push: what was sent (`sent` events, of which `proofs` were the origins' proof
    /// runs) and what the peer said.
    public mutating func pushed(sent: Int, proofs: Set<OriginID> = [], result: SyncWire.PushResult, local: VersionVector) -> Action {
        // Counts come from the peer: never believe more than was sent (nor let them overflow).
        guard result.accepted <= sent, result.alreadyHeld <= sent, result.accepted <= sent - result.alreadyHeld else {
            return .failed("the peer's answer counts \(result.accepted) accepted and \(result.alreadyHeld) held of the \(sent) events sent")
        }
        summary.pushed += result.accepted
        summary.alreadyHeld += result.alreadyHeld
        for origin in proofs { proofsToSend[origin] = nil }
        var changed = !proofs.isEmpty
        for refusal in result.refused where !setAside.contains(refusal.origin) || proofs.contains(refusal.origin) {
            if !setAside.contains(refusal.origin) { setAside(refusal) }
            changed = true
        }
        guard sent == 0 || result.accepted > 0 || result.alreadyHeld > 0 || changed else {
            return .failed("the peer accepted none of the \(sent) events sent")
        }
        summary.remoteVector = result.vector
        if sent == 0 { return .done(summary) }
        return nextPush(remote: result.vector, local: local)
    }

    private mutating func setAside(_ refusal: SyncWire.Refusal) {
        setAside.insert(refusal.origin)
        summary.setAside.append(refusal)
    }

    private mutating func nextPush(remote: VersionVector, local: VersionVector) -> Action {
        let lacking = local.entries.contains { !setAside.contains($0.key) && remote[$0.key] < $0.value }
        guard lacking || !proofsToSend.isEmpty else { return .done(summary) }
        let pushBudget = peerLimits.map { budget.narrowed(to: $0.budget) } ?? budget
        return request(.push(have: remote, exclude: setAside, proofRuns: proofsToSend, budget: pushBudget))
    }

    private mutating func request(_ action: Action) -> Action {
        summary.requests += 1
        guard summary.requests <= maxRequests else { return .failed("the sync did not finish within \(maxRequests) requests") }
        return action
    }
}
