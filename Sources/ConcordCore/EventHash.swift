import Crypto

/// A SHA-256 digest linking and identifying events.
///
/// Holds whatever bytes were stored, even of the wrong length, so verification can report a
/// damaged hash as a mismatch instead of failing to read it.
public struct EventHash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The `prev_hash` of an origin's first event.
    public static let genesis = EventHash(bytes: [UInt8](repeating: 0, count: 32))

    public static func sha256(_ data: [UInt8]) -> EventHash {
        EventHash(bytes: Array(SHA256.hash(data: data)))
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}

/// SHA-256 over data fed in pieces, for digests of more than fits comfortably in one buffer.
public struct IncrementalSHA256: Sendable {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        hasher.update(data: bytes)
    }

    public consuming func finalize() -> EventHash {
        EventHash(bytes: Array(hasher.finalize()))
    }
}
