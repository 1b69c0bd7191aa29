/// A signed chain head: the origin's key signs the hash of its event `seq`, and through the hash
/// chain that signature covers every event of the origin up to and including `seq`.
///
/// One seal is written per append commit (docs/storage-format.md explains why not one signature
/// per event).
public struct Seal: Sendable, Hashable {
    public var origin: OriginID
    public var seq: UInt64
    public var hash: EventHash
    /// Ed25519 signature over `signedBytes`.
    public var signature: [UInt8]

    public init(origin: OriginID, seq: UInt64, hash: EventHash, signature: [UInt8]) {
        self.origin = origin
        self.seq = seq
        self.hash = hash
        self.signature = signature
    }

    public static let encodingTag = "concord.seal.v1"

    /// The message that is signed: the tag, the origin, the seq and the event hash.
    public static func signedBytes(origin: OriginID, seq: UInt64, hash: EventHash) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 96)
        writer.write(encodingTag)
        writer.write(origin.hex)
        writer.write(seq)
        writer.write(bytes: hash.bytes)
        return writer.bytes
    }

    public var signedBytes: [UInt8] { Self.signedBytes(origin: origin, seq: seq, hash: hash) }
}
