/// Which origins a node accepts events from (the same rule on every backend).
///
/// An origin id is the hash of its public key, so an accepted origin's key is pinned by
/// construction. In `firstSight` mode (the default) any origin whose key hashes to its id is
/// accepted. In `strict` mode only origins on the node's roster, and the node's own, are.
public enum TrustMode: String, Sendable, CaseIterable {
    case firstSight = "first-sight"
    case strict

    /// The mode a store keeps as text: missing means first sight; unreadable means strict
    /// (never more trust than was chosen).
    public init(stored text: String?) {
        guard let text else {
            self = .firstSight
            return
        }
        self = TrustMode(rawValue: text) ?? .strict
    }

    /// Whether an origin's events may be stored under this mode.
    public func accepts(onRoster: Bool, ownOrigin: Bool) -> Bool {
        self == .firstSight || onRoster || ownOrigin
    }
}

/// An origin on a node's roster.
public struct TrustedOrigin: Sendable, Equatable {
    public var origin: OriginID
    public var label: String
    public var addedAt: Int64

    public init(origin: OriginID, label: String, addedAt: Int64) {
        self.origin = origin
        self.label = label
        self.addedAt = addedAt
    }
}
