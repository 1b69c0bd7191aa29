import ConcordCore

/// What a node accepts from a peer in one request. Anything beyond is refused with a 4xx before
/// anything is stored (docs/sync-protocol.md lists each limit and its status code).
public struct SyncLimits: Sendable, Equatable {
    /// Request body as sent (compressed or not).
    public var maxBodyBytes: Int
    /// Request body after inflating.
    public var maxInflatedBytes: Int
    /// How much a compressed body may grow, once past `ratioFloorBytes` of output.
    public var maxInflateRatio: Int
    public var ratioFloorBytes: Int
    /// Events in one pushed batch, and most served in one pull response.
    public var maxEventsPerBatch: Int
    /// One NDJSON line (an event with its data).
    public var maxLineBytes: Int
    /// Longest a pull may wait for new events (long-poll).
    public var maxWaitSeconds: Int

    public init(
        maxBodyBytes: Int = 16 << 20, maxInflatedBytes: Int = 64 << 20, maxInflateRatio: Int = 100,
        ratioFloorBytes: Int = 1 << 20, maxEventsPerBatch: Int = 5000, maxLineBytes: Int = (1 << 20) + 16 * 1024,
        maxWaitSeconds: Int = 60
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxInflatedBytes = maxInflatedBytes
        self.maxInflateRatio = maxInflateRatio
        self.ratioFloorBytes = ratioFloorBytes
        self.maxEventsPerBatch = maxEventsPerBatch
        self.maxLineBytes = maxLineBytes
        self.maxWaitSeconds = maxWaitSeconds
    }
}
