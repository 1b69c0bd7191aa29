import CZlib
import ConcordCore

/// Streaming compression into gzip or zlib-wrapped deflate.
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    /// - Parameter level: 1 (fastest) to 9 (smallest); 6 is zlib's default balance.
    public init(format: CompressionFormat, level: Int32 = 6) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = concord_deflateInit2(stream, level, format == .gzip ? 15 + 16 : 15)
        // deflateInit2 fails only for invalid parameters or no memory.
        precondition(code == Z_OK, "deflateInit2 failed with \(code)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses a chunk; returns whatever compressed bytes are ready (possibly none).
    public func compress(_ input: [UInt8]) -> [UInt8] {
        run(input, flush: Z_NO_FLUSH)
    }

    /// Ends the stream; returns the remaining compressed bytes.
    public func finish() -> [UInt8] {
        run([], flush: Z_FINISH)
    }

    private func run(_ input: [UInt8], flush: Int32) -> [UInt8] {
        var result: [UInt8] = []
        input.withUnsafeBufferPointer { inputBuffer in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
            stream.pointee.avail_in = UInt32(inputBuffer.count)
            repeat {
                let produced = output.withUnsafeMutableBufferPointer { outputBuffer -> Int in
                    stream.pointee.next_out = outputBuffer.baseAddress
                    stream.pointee.avail_out = UInt32(outputBuffer.count)
                    _ = CZlib.deflate(stream, flush)
                    return outputBuffer.count - Int(stream.pointee.avail_out)
                }
                result += output[0..<produced]
            } while stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
        }
        return result
    }
}

/// One-shot helpers over the streaming types.
public enum Zlib {
    public static func compress(_ bytes: [UInt8], format: CompressionFormat, level: Int32 = 6) -> [UInt8] {
        let deflater = Deflater(format: format, level: level)
        return deflater.compress(bytes) + deflater.finish()
    }

    /// Inflates a whole body within limits.
    public static func decompress(_ bytes: [UInt8], format: CompressionFormat, limits: InflateLimits = InflateLimits()) throws -> [UInt8] {
        let inflater = Inflater(format: format, limits: limits)
        var output: [UInt8] = []
        try inflater.feed(bytes) { output += $0 }
        try inflater.finish()
        return output
    }
}
