/// An event as one node holds it: the event itself plus where it sits in this node's store.
///
/// `position` and `streamVersion` are local (another node may hold the same event elsewhere);
/// they are not hashed.
public struct StoredEvent: Sendable, Hashable {
    public var event: Event
    /// The event's place in this node's log: increasing in the order events were stored.
    public var position: Int64
    /// The event's 1-based place in its stream on this node.
    public var streamVersion: Int

    public init(event: Event, position: Int64, streamVersion: Int) {
        self.event = event
        self.position = position
        self.streamVersion = streamVersion
    }
}

/// What one append commit stored.
public struct AppendResult: Sendable {
    public var events: [StoredEvent]
    /// The signature over the new chain head.
    public var seal: Seal

    public init(events: [StoredEvent], seal: Seal) {
        self.events = events
        self.seal = seal
    }
}
