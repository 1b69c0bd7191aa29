/// Fork evidence as a store keeps it: the proof, where it came from (a peer's name, or the file
/// or copy it arrived with) and when it was found. `concord copy` moves it from store to store.
public struct KeptForkProof: Sendable, Hashable {
    public var proof: ForkProof
    public var source: String
    public var detectedAt: Int64

    public init(proof: ForkProof, source: String, detectedAt: Int64) {
        self.proof = proof
        self.source = source
        self.detectedAt = detectedAt
    }

    /// Whether a store may keep this proof: the origin's key it holds signed the offered side,
    /// and the event it holds at the proof's seq is the held side. (Stores keep one an origin.)
    public func holds(key: OriginKey?, heldHash: EventHash?) -> Bool {
        guard let key, heldHash == proof.heldHash else { return false }
        return proof.verifies(with: key)
    }
}
