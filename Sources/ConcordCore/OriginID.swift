import Crypto

/// The identity of one node incarnation: the writer of a gap-free run of events.
///
/// An origin id is derived from the incarnation's Ed25519 public key (the first 16 bytes of its
/// SHA-256, as 32 lowercase hex digits), so an origin cannot be claimed with another key: whoever
/// checks a signature also checks that the key hashes to the origin.
public struct OriginID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hex: String

    /// Accepts 32 lowercase hex digits.
    public init(hex: String) throws {
        guard hex.utf8.count == 32, hex.utf8.allSatisfy({ Hex.isLowerHexDigit($0) }) else {
            throw ConcordError(.invalidArgument, "origin id '\(hex.prefix(80))' is not 32 lowercase hex digits")
        }
        self.hex = hex
    }

    package init(unchecked hex: String) {
        self.hex = hex
    }

    /// The origin of the incarnation whose signing key has this raw public key.
    public init(publicKey: [UInt8]) {
        let digest = SHA256.hash(data: publicKey)
        self.hex = Hex.encode(Array(digest.prefix(16)))
    }

    /// The first eight hex digits: enough to tell origins apart in a table a person reads.
    public var short: String { String(hex.prefix(8)) }

    public var description: String { hex }

    public static func < (lhs: OriginID, rhs: OriginID) -> Bool { lhs.hex < rhs.hex }
}
