import ConcordCore

/// One sync with a peer, as a pure state machine: the driver performs each `Action` (an HTTP call
/// and a store operation) and reports the outcome; the session decides what comes next. Pull
/// first (what the peer has that this node lacks), then push (what the peer lacks), in batches,
/// until both sides' vectors say nothing is missing.
public struct SyncSession: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case pullThenPush = "both"
        case pullOnly = "pull"
        case pushOnly = "push"
    }

    public enum Action: Sendable, Equatable {
        /// POST /v1/pull with this request; ingest the batch; then call `pulled`.
        case pull(SyncWire.PullRequest)
        /// GET /v1/vector; then call `receivedRemoteVector`.
        case fetchRemoteVector
        /// Send the local events the peer lacks given `have`, one batch; then call `pushed`.
        case push(have: VersionVector)
        case done(Summary)
        case failed(String)
    }

    public struct Summary: Sendable, Equatable {
        public var pulled = 0
        public var pushed = 0
        public var alreadyHeld = 0
        public var requests = 0
        public var remoteVector = VersionVector()
    }

    public let mode: Mode
    public let maxEvents: Int
    public private(set) var summary = Summary()
    /// Bounds a session against a peer that keeps answering "more" without sending anything.
    private let maxRequests: Int

    public init(mode: Mode = .pullThenPush, maxEvents: Int = 5000, maxRequests: Int = 1_000_000) {
        self.mode = mode
        self.maxEvents = maxEvents
        self.maxRequests = maxRequests
    }

    public mutating func start(local: VersionVector) -> Action {
        mode == .pushOnly ? request(.fetchRemoteVector) : request(.pull(.init(have: local, maxEvents: maxEvents)))
    }

    /// After a pull: how many events came, how many were new, whether the peer has more.
    public mutating func pulled(received: Int, inserted: Int, more: Bool, remote: VersionVector, local: VersionVector) -> Action {
        summary.pulled += inserted
        summary.alreadyHeld += received - inserted
        summary.remoteVector = remote
        if more {
            guard inserted > 0 else { return .failed("the peer says it has more events but sent none this node could use") }
            return request(.pull(.init(have: local, maxEvents: maxEvents)))
        }
        guard mode == .pullThenPush else { return .done(summary) }
        return nextPush(remote: remote, local: local)
    }

    public mutating func receivedRemoteVector(_ remote: VersionVector, local: VersionVector) -> Action {
        summary.remoteVector = remote
        return nextPush(remote: remote, local: local)
    }

    /// After a push: what was sent and what the peer said.
    public mutating func pushed(sent: Int, result: SyncWire.PushResult, local: VersionVector) -> Action {
        summary.pushed += result.accepted
        summary.alreadyHeld += result.alreadyHeld
        guard sent == 0 || result.accepted > 0 || result.alreadyHeld > 0 else {
            return .failed("the peer accepted none of the \(sent) events sent")
        }
        summary.remoteVector = result.vector
        if sent == 0 { return .done(summary) }
        return nextPush(remote: result.vector, local: local)
    }

    private mutating func nextPush(remote: VersionVector, local: VersionVector) -> Action {
        let lacking = local.entries.contains { remote[$0.key] < $0.value }
        return lacking ? request(.push(have: remote)) : .done(summary)
    }

    private mutating func request(_ action: Action) -> Action {
        summary.requests += 1
        guard summary.requests <= maxRequests else { return .failed("the sync did not finish within \(maxRequests) requests") }
        return action
    }
}
