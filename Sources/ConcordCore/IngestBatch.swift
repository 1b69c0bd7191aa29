/// Events written elsewhere, with the seals and keys that vouch for them.
public struct IngestBatch: Sendable {
    public var keys: [OriginKey]
    public var events: [Event]
    public var seals: [Seal]

    public init(keys: [OriginKey] = [], events: [Event] = [], seals: [Seal] = []) {
        self.keys = keys
        self.events = events
        self.seals = seals
    }
}

public struct IngestResult: Sendable, Equatable {
    /// Events stored by this call.
    public var inserted: Int
    /// Events this node already held, byte for byte.
    public var alreadyHeld: Int

    public init(inserted: Int, alreadyHeld: Int) {
        self.inserted = inserted
        self.alreadyHeld = alreadyHeld
    }
}

