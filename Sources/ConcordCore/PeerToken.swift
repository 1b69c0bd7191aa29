/// Bearer tokens a node's server accepts from its peers: how they are made and kept, the same on
/// every backend. A store keeps only a token's SHA-256, so a copy of the store cannot be used to
/// sync as the peer.
public enum PeerToken {
    /// A new token: `concord_` and 64 hex digits (256 random bits).
    public static func generate() -> String {
        var random = SystemRandomNumberGenerator()
        return "concord_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    /// What a store keeps of a token, and looks a presented token up by.
    public static func digest(_ token: String) -> [UInt8] {
        EventHash.sha256(Array(token.utf8)).bytes
    }

    /// A token as given by a person or a file, to present to a peer: one line of printable text.
    public static func validatePresented(_ token: String) throws {
        guard !token.isEmpty, token.utf8.count <= 512, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw ConcordError(.invalidArgument, "a token is 1 to 512 printable characters without spaces, such as concord_1f2e…")
        }
    }

    /// Validates a peer's name before a token is issued for it.
    public static func validatePeerName(_ name: String) throws {
        try Identifier.validate(name, what: "peer name", maxLength: 100)
    }
}

/// Who presented a token, and whether it may only pull.
public struct PeerAccess: Sendable, Equatable {
    public var name: String
    public var readOnly: Bool

    public init(name: String, readOnly: Bool) {
        self.name = name
        self.readOnly = readOnly
    }
}

/// A token a node's server accepts: who holds it (the token itself is not kept).
public struct IssuedToken: Sendable, Equatable {
    public var peer: String
    public var readOnly: Bool
    public var createdAt: Int64

    public init(peer: String, readOnly: Bool, createdAt: Int64) {
        self.peer = peer
        self.readOnly = readOnly
        self.createdAt = createdAt
    }
}

/// A token as a store keeps it (its digest, never the token): what moves with a hub that is
/// copied to another store, so that its peers' tokens go on working.
public struct KeptToken: Sendable, Equatable {
    public var peer: String
    public var digest: [UInt8]
    public var readOnly: Bool
    public var createdAt: Int64

    public init(peer: String, digest: [UInt8], readOnly: Bool, createdAt: Int64) {
        self.peer = peer
        self.digest = digest
        self.readOnly = readOnly
        self.createdAt = createdAt
    }

    /// What presenting the token gives.
    public var access: PeerAccess { PeerAccess(name: peer, readOnly: readOnly) }
}
