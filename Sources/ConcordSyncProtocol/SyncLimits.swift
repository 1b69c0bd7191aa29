import ConcordCore

/// What a node accepts from a peer in one request, and the most it sends in one answer. Anything
/// beyond is refused with a 4xx before anything is stored (docs/sync-protocol.md lists each limit
/// and its status code). A server advertises its limits (`SyncWire.Limits`) and peers keep to them.
public struct SyncLimits: Sendable, Equatable {
    /// Request body as sent (compressed or not).
    public var maxBodyBytes: Int
    /// Request body after inflating; also the most bytes of origin, event and seal lines in one batch.
    public var maxInflatedBytes: Int
    /// How much a compressed body may grow, once past `ratioFloorBytes` of output. Senders keep
    /// below it (`Deflater` with a ratio bound), so an honest body is never refused by it.
    public var maxInflateRatio: Int
    public var ratioFloorBytes: Int
    /// Events in one pushed batch, and most served in one pull answer.
    public var maxEventsPerBatch: Int
    /// Longest a pull may wait for new events (long-poll).
    public var maxWaitSeconds: Int

    /// Every sender keeps each compressed body within this ratio past this floor (see `Deflater`'s
    /// ratio bound), so receivers may only loosen them: `validate` refuses stricter limits.
    public static let protocolInflateRatio = 100
    /// The most origins a node keeps as set aside for one peer: a hostile pusher cannot grow a
    /// store without end that way (every backend keeps to it).
    public static let maxSetAsidePerPeer = 100
    public static let protocolRatioFloorBytes = 1 << 20

    /// The protocol's floor for every peer's batch limits: one longest run between two seals
    /// (`EventLimits.maxEventsPerSeal` events, `EventLimits.maxRunLineBytes` bytes) always fits,
    /// so every valid run can be sent to every peer.
    public static let minimumBatchEvents = EventLimits.maxEventsPerSeal
    public static let minimumBatchBytes = 8 << 20
    /// The longest origin, event or seal line (an event at every field's limit).
    public static let maxLineBytes = EventLimits.maxEventLineBytes
    /// The longest `end` line of a pull answer: a vector and heads of `maxVectorOrigins` origins
    /// (about 1.6 MB) and as many refusals (each at most about 900 bytes).
    public static let maxEndLineBytes = 16 << 20
    /// The most origins a version vector (or a list of origins) in a request or answer may name:
    /// every origin a store may hold (`EventLimits.maxOrigins`).
    public static let maxVectorOrigins = EventLimits.maxOrigins
    /// The longest any long poll may wait (a server may set a shorter `maxWaitSeconds`).
    public static let maxWaitSeconds = 60
    /// The largest pull request body accepted (a vector, heads and exclusions of `maxVectorOrigins`).
    /// Checkpoints one batch may carry (a pull's last page, a push, an export's batch), and
    /// their bytes in all: well under the protocol's floor of 8 MiB a batch. A sender stops
    /// before the checkpoint that would pass either (but always sends one).
    public static let maxCheckpointsPerBatch = 100
    public static let maxCheckpointBytesPerBatch = 4 << 20
    public static let maxPullRequestBytes = 8 << 20

    public init(
        maxBodyBytes: Int = 16 << 20, maxInflatedBytes: Int = 64 << 20, maxInflateRatio: Int = 100,
        ratioFloorBytes: Int = 1 << 20, maxEventsPerBatch: Int = 5000, maxWaitSeconds: Int = 60
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxInflatedBytes = maxInflatedBytes
        self.maxInflateRatio = maxInflateRatio
        self.ratioFloorBytes = ratioFloorBytes
        self.maxEventsPerBatch = maxEventsPerBatch
        self.maxWaitSeconds = maxWaitSeconds
    }

    /// Refuses limits below the protocol's floor: a node with them could not take every valid run.
    public func validate() throws {
        func check(_ value: Int, _ minimum: Int, _ what: String) throws {
            guard value >= minimum else {
                throw ConcordError(.invalidArgument, "\(what) must be at least \(minimum), so that the longest run of events between two seals fits one batch")
            }
        }
        try check(maxEventsPerBatch, Self.minimumBatchEvents, "the most events in a batch")
        try check(maxInflatedBytes, Self.minimumBatchBytes, "the largest inflated body")
        try check(maxBodyBytes, Self.minimumBatchBytes, "the largest body")
        guard maxInflateRatio >= Self.protocolInflateRatio, ratioFloorBytes >= Self.protocolRatioFloorBytes else {
            throw ConcordError(.invalidArgument, "the inflate ratio limit must be at least \(Self.protocolInflateRatio) past \(Self.protocolRatioFloorBytes) bytes: senders keep within that, and no stricter")
        }
        guard (0...Self.maxWaitSeconds).contains(maxWaitSeconds) else {
            throw ConcordError(.invalidArgument, "the longest wait must be from 0 to \(Self.maxWaitSeconds) seconds")
        }
    }

    /// The budget of one batch sent to a peer with these limits.
    public var budget: BatchBudget { BatchBudget(maxEvents: maxEventsPerBatch, maxBytes: maxInflatedBytes) }

    /// What the server says of its limits.
    public var advertised: SyncWire.Limits {
        SyncWire.Limits(maxEvents: maxEventsPerBatch, maxBytes: maxInflatedBytes, maxBodyBytes: maxBodyBytes, maxInflateRatio: maxInflateRatio, ratioFloorBytes: ratioFloorBytes)
    }
}

/// How much one batch may carry: events, and bytes of origin, event and seal lines.
public struct BatchBudget: Sendable, Equatable {
    public var maxEvents: Int
    public var maxBytes: Int

    public init(maxEvents: Int, maxBytes: Int) {
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
    }

    /// The smaller of two budgets.
    public func narrowed(to other: BatchBudget) -> BatchBudget {
        BatchBudget(maxEvents: min(maxEvents, other.maxEvents), maxBytes: min(maxBytes, other.maxBytes))
    }
}
