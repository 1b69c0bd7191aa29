import Crypto

/// The Ed25519 signing key of one node incarnation. Its public key determines the origin id.
public struct NodeKey: Sendable {
    private let privateKey: Curve25519.Signing.PrivateKey

    /// A new random key, for a new incarnation.
    public init() {
        privateKey = Curve25519.Signing.PrivateKey()
    }

    /// Restores a key from its 32 raw private bytes.
    public init(rawPrivateKey: [UInt8]) throws {
        do {
            privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey)
        } catch {
            throw ConcordError(.nodeKey, "the node's private key is not a valid Ed25519 key", cause: error)
        }
    }

    public var rawPrivateKey: [UInt8] { Array(privateKey.rawRepresentation) }
    public var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }
    public var origin: OriginID { OriginID(publicKey: publicKey) }

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

    public init(origin: OriginID, publicKey: [UInt8]) {
        self.origin = origin
        self.publicKey = publicKey
    }

    /// True when the public key is the one the origin id was derived from.
    public var keyMatchesOrigin: Bool { OriginID(publicKey: publicKey) == origin }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    public func verify(_ seal: Seal) -> Bool {
        seal.origin == origin && isValidSignature(seal.signature, for: seal.signedBytes)
    }
}
