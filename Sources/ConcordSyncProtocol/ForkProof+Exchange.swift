import ConcordCore

extension ForkProof {
    /// A proof read back from the exchange lines a store keeps it as (`exchangeLines(key:)`),
    /// or nil when they do not read as a run ending on a seal.
    public init?(exchangeLines text: String, origin: OriginID, seq: UInt64, heldHash: EventHash) {
        var reader = BatchReader(limits: SyncLimits())
        guard (try? reader.feed(Array(text.utf8))) != nil, let batch = try? reader.finish(), let seal = batch.seals.last else { return nil }
        self.init(origin: origin, seq: seq, heldHash: heldHash, events: batch.events, seal: seal)
    }
}
