import CZlib
import ConcordCore

/// Streaming compression into gzip or zlib-wrapped deflate.
///
/// With a ratio bound, the stream never inflates more than `maxRatio` times its compressed size
/// (past `ratioFloorBytes`) at any point a receiver could check it: input that would compress
/// further is stored uncompressed instead, so a receiver with those `InflateLimits` never refuses
/// an honest body, however compressible (a note of a million spaces).
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output = [UInt8](repeating: 0, count: 64 * 1024)
    private let level: Int32
    private var currentLevel: Int32
    private let ratioBound: InflateLimits?
    /// Uncompressed bytes taken, and compressed bytes given out.
    public private(set) var totalIn = 0
    public private(set) var totalOut = 0

    /// - Parameter level: 1 (fastest) to 9 (smallest); 6 is zlib's default balance.
    public init(format: CompressionFormat, level: Int32 = 6, ratioBound: InflateLimits? = nil) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.level = level
        self.currentLevel = level
        self.ratioBound = ratioBound
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
        guard let bound = ratioBound else { return run(input[...], flush: Z_NO_FLUSH) }
        var result: [UInt8] = []
        var start = 0
        while start < input.count {
            let piece = input[start..<min(input.count, start + 64 * 1024)]
            // Half the ratio and half the floor: a receiver checks after any byte, and the stored
            // bytes that follow a compressed stretch must still stay within its limits.
            let allowed = max(bound.ratioFloorBytes / 2, totalOut.multipliedReportingOverflow(by: bound.maxRatio / 2).partialValue)
            result += setLevel(totalIn + piece.count <= allowed ? level : 0)
            result += run(piece, flush: Z_NO_FLUSH)
            start += piece.count
        }
        return result
    }

    /// Ends the stream; returns the remaining compressed bytes.
    public func finish() -> [UInt8] {
        run([][...], flush: Z_FINISH)
    }

    /// Compresses `input` as the whole stream, into one buffer sized by `deflateBound`: one
    /// allocation for the output whatever the data's ratio (the streaming path grows its result
    /// by a 64 KiB buffer at a time). Only for a deflater with no ratio bound that has taken
    /// nothing yet.
    fileprivate func compressWhole(_ input: [UInt8]) -> [UInt8] {
        precondition(ratioBound == nil && totalIn == 0, "compressWhole is the whole stream of an unbounded deflater")
        let bound = Int(deflateBound(stream, UInt(input.count)))
        let result = [UInt8](unsafeUninitializedCapacity: bound) { outputBuffer, initialized in
            input.withUnsafeBufferPointer { inputBuffer in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
                stream.pointee.avail_in = UInt32(inputBuffer.count)
                stream.pointee.next_out = outputBuffer.baseAddress
                stream.pointee.avail_out = UInt32(outputBuffer.count)
                let code = CZlib.deflate(stream, Z_FINISH)
                // deflateBound is an upper bound of a single-call Z_FINISH: the stream always ends.
                precondition(code == Z_STREAM_END, "deflate within deflateBound returned \(code)")
                stream.pointee.next_in = nil
                initialized = outputBuffer.count - Int(stream.pointee.avail_out)
            }
        }
        totalIn = input.count
        totalOut = result.count
        return result
    }

    private func setLevel(_ wanted: Int32) -> [UInt8] {
        guard wanted != currentLevel else { return [] }
        var result: [UInt8] = []
        var code: Int32 = Z_OK
        repeat {
            let produced = output.withUnsafeMutableBufferPointer { outputBuffer -> Int in
                stream.pointee.next_out = outputBuffer.baseAddress
                stream.pointee.avail_out = UInt32(outputBuffer.count)
                code = deflateParams(stream, wanted, Z_DEFAULT_STRATEGY)
                return outputBuffer.count - Int(stream.pointee.avail_out)
            }
            result += output[0..<produced]
        } while code == Z_BUF_ERROR
        totalOut += result.count
        currentLevel = wanted
        return result
    }

    private func run(_ input: ArraySlice<UInt8>, flush: Int32) -> [UInt8] {
        var result: [UInt8] = []
        totalIn += input.count
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
        totalOut += result.count
        return result
    }
}

/// One-shot helpers over the streaming types.
public enum Zlib {
    public static func compress(_ bytes: [UInt8], format: CompressionFormat, level: Int32 = 6, ratioBound: InflateLimits? = nil) -> [UInt8] {
        let deflater = Deflater(format: format, level: level, ratioBound: ratioBound)
        if ratioBound == nil, bytes.count <= Int(UInt32.max / 2) { return deflater.compressWhole(bytes) }
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
