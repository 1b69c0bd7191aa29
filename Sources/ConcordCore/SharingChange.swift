/// One change to a node's sharing settings (`concord share add|remove|default|local`). Every
/// backend applies it in one transaction that also moves the openings number, so that peers ask
/// again for the openings of the stubs they hold; `apply(to:at:)` is the rule they all follow.
public enum SharingChange: Sendable, Hashable {
    case addRule(peer: String, ShareSelector)
    case removeRule(peer: String, ShareSelector)
    case setDefault(SharingPolicy.Default)
    /// Keeps a stream's openings on this node (true), or lets the rules apply to it again.
    case keepLocal(StreamID, Bool)

    /// Refuses a peer name no token or peer could have.
    public func validate() throws {
        if case .addRule(let peer, _) = self { try PeerToken.validatePeerName(peer) }
    }

    /// The change made to settings held in memory; false when they already were so.
    public func apply(to settings: inout SharingSettings, at now: Int64) -> Bool {
        switch self {
        case .addRule(let peer, let selector):
            guard !settings.rules.contains(where: { $0.peer == peer && $0.selector == selector }) else { return false }
            settings.rules.append(ShareRule(peer: peer, selector: selector, addedAt: now))
            settings.rules.sort { ($0.peer, $0.selector.description) < ($1.peer, $1.selector.description) }
        case .removeRule(let peer, let selector):
            let before = settings.rules.count
            settings.rules.removeAll { $0.peer == peer && $0.selector == selector }
            return settings.rules.count < before
        case .setDefault(let value):
            // Set even when equal, as the SQL backends do: a person who says it means it now.
            settings.defaultRule = value
        case .keepLocal(let stream, true):
            guard !settings.localStreams.contains(stream) else { return false }
            settings.localStreams.append(stream)
            settings.localStreams.sort { $0.rawValue < $1.rawValue }
        case .keepLocal(let stream, false):
            guard settings.localStreams.contains(stream) else { return false }
            settings.localStreams.removeAll { $0 == stream }
        }
        return true
    }
}
