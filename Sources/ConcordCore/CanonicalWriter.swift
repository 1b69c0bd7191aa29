/// Builds the canonical byte encodings that are hashed and signed.
///
/// Fixed-width integers are big-endian; strings and byte strings are a 4-byte big-endian length
/// followed by the bytes; an optional is a 0 or 1 byte followed by the value when present. Every
/// field has one encoding, so equal values hash equally on every node and in every language.
public struct CanonicalWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func write(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    public mutating func write(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }

    public mutating func write(_ text: String) {
        write(UInt32(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func write(bytes data: [UInt8]) {
        write(UInt32(data.count))
        bytes.append(contentsOf: data)
    }

    public mutating func write(_ text: String?) {
        if let text {
            write(UInt8(1))
            write(text)
        } else {
            write(UInt8(0))
        }
    }
}
