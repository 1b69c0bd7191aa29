import ConcordCore

/// What the engine asks of a store to keep the tokens its server accepts (`PeerTokens`): rows
/// read and written, no rule. A driver runs each of the engine's operations inside one
/// transaction of its own.
public protocol TokenTransaction {
    /// Every kept token, by peer name.
    func keptTokens() throws -> [KeptToken]
    /// The kept token with this digest, if any.
    func keptToken(digest: [UInt8]) throws -> KeptToken?
    /// Keeps a token, replacing the one kept for the same peer.
    func putToken(_ token: KeptToken) throws
    /// Deletes the peer's token; whether there was one.
    func deleteToken(peer: String) throws -> Bool
    /// Forgets what was set aside of the peer's pushes.
    func deleteSetAside(peer: String) throws
}

/// The tokens a node's server accepts from its peers, written once over any backend's
/// `TokenTransaction`: a store keeps only a token's digest (`PeerToken.digest`), so neither the
/// store nor a copy of it can be used to sync as the peer.
public enum PeerTokens {
    /// Issues a new token for `peer`, replacing its earlier one (which stops working at once),
    /// and returns it: it cannot be shown again.
    public static func issue(peer: String, readOnly: Bool, at now: Int64, in tx: some TokenTransaction) throws -> String {
        try PeerToken.validatePeerName(peer)
        let token = PeerToken.generate()
        try tx.putToken(KeptToken(peer: peer, digest: PeerToken.digest(token), readOnly: readOnly, createdAt: now))
        return token
    }

    /// Revokes the peer's token: its next request is refused. What it pushed and this node set
    /// aside is forgotten with it (no longer a matter for an operator). False when it had none.
    public static func revoke(peer: String, in tx: some TokenTransaction) throws -> Bool {
        guard try tx.deleteToken(peer: peer) else { return false }
        try tx.deleteSetAside(peer: peer)
        return true
    }

    /// Keeps tokens copied from another store (`concord copy`), each replacing the one of its
    /// peer: the peers' tokens go on working against the copy.
    public static func restore(_ tokens: [KeptToken], in tx: some TokenTransaction) throws {
        // Every one checked before any is kept: a bad one keeps none.
        for token in tokens {
            try PeerToken.validatePeerName(token.peer)
            guard token.digest.count == PeerToken.digest("").count else {
                throw ConcordError(.invalidArgument, "the token kept for peer '\(token.peer)' is not a SHA-256 digest (\(token.digest.count) bytes)")
            }
        }
        for token in tokens { try tx.putToken(token) }
    }

    /// Who presented `token`, or nil when no kept token has its digest.
    public static func authenticate(_ token: String, in tx: some TokenTransaction) throws -> PeerAccess? {
        try tx.keptToken(digest: PeerToken.digest(token))?.access
    }

    /// The tokens as an operator sees them (who holds one, never a digest), by peer name.
    public static func issued(in tx: some TokenTransaction) throws -> [IssuedToken] {
        try tx.keptTokens().map { IssuedToken(peer: $0.peer, readOnly: $0.readOnly, createdAt: $0.createdAt) }
    }
}
