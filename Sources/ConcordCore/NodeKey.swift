import Crypto

/// The Ed25519 signing key of one node incarnation. Its public key determines the origin id.
public struct NodeKey: Sendable {
    private let privateKey: Curve25519.Signing.PrivateKey
    /// Derived once: every seal needs them.
    public let publicKey: [UInt8]
    public let origin: OriginID

    /// A new random key, for a new incarnation.
    public init() {
        self.init(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// Restores a key from its 32 raw private bytes.
    public init(rawPrivateKey: [UInt8]) throws {
        do {
            self.init(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey))
        } catch {
            throw ConcordError(.nodeKey, "the node's private key is not a valid Ed25519 key", cause: error)
        }
    }

    private init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        self.publicKey = Array(privateKey.publicKey.rawRepresentation)
        self.origin = OriginID(publicKey: publicKey)
    }

    public var rawPrivateKey: [UInt8] { Array(privateKey.rawRepresentation) }

    /// The public half, for verifying this key's seals.
    public var originKey: OriginKey { OriginKey(origin: origin, publicKey: publicKey) }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        // Signing only fails if the platform's random source fails; nothing sensible follows from that.
        try! Array(privateKey.signature(for: message))
    }

    /// Seals the chain head `(seq, hash)` of this key's origin.
    public func seal(seq: UInt64, hash: EventHash) -> Seal {
        let origin = self.origin
        return Seal(origin: origin, seq: seq, hash: hash, signature: sign(Seal.signedBytes(origin: origin, seq: seq, hash: hash)))
    }
}

/// Checks signatures against an origin's public key.
public struct OriginKey: Sendable, Hashable {
    public let origin: OriginID
    public let publicKey: [UInt8]
    /// Parsed once; nil when the bytes are not a valid Ed25519 public key (every signature then fails).
    private let verifyingKey: Curve25519.Signing.PublicKey?

    public init(origin: OriginID, publicKey: [UInt8]) {
        self.origin = origin
        self.publicKey = publicKey
        self.verifyingKey = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
    }

    public static func == (lhs: OriginKey, rhs: OriginKey) -> Bool {
        lhs.origin == rhs.origin && lhs.publicKey == rhs.publicKey
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(origin)
        hasher.combine(publicKey)
    }

    /// True when the public key is the one the origin id was derived from.
    public var keyMatchesOrigin: Bool { OriginID(publicKey: publicKey) == origin }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        verifyingKey?.isValidSignature(signature, for: message) ?? false
    }

    public func verify(_ seal: Seal) -> Bool {
        seal.origin == origin && isValidSignature(seal.signature, for: seal.signedBytes)
    }
}
