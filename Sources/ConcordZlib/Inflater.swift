import CZlib
import ConcordCore

/// The two HTTP content codings Concord speaks.
public enum CompressionFormat: String, Sendable, CaseIterable {
    /// RFC 1952, `Content-Encoding: gzip`.
    case gzip
    /// `Content-Encoding: deflate`: the zlib format (RFC 1950); raw deflate (RFC 1951), which some
    /// clients send under this name, is accepted when inflating too.
    case deflate

    /// The coding named by a `Content-Encoding` header value, or nil for `identity`/none.
    /// Throws for any other coding.
    public static func fromContentEncoding(_ value: String?) throws -> CompressionFormat? {
        guard let value = value?.trimmingSpaces.lowercased(), !value.isEmpty, value != "identity" else { return nil }
        switch value {
        case "gzip", "x-gzip": return .gzip
        case "deflate": return .deflate
        default: throw ConcordError(.unsupportedEncoding, "content encoding '\(value.prefix(40))' is not supported; use gzip, deflate or none")
        }
    }
}

/// How far an inflated body may grow: bounds memory whatever a peer sends (gzip bombs included).
public struct InflateLimits: Sendable {
    /// The most bytes the body may inflate to.
    public var maxOutputBytes: Int
    /// The most the body may grow relative to its compressed size, once past `ratioFloorBytes`.
    public var maxRatio: Int
    /// Small bodies compress extremely well legitimately; the ratio is judged beyond this size.
    public var ratioFloorBytes: Int

    public init(maxOutputBytes: Int = 64 << 20, maxRatio: Int = 100, ratioFloorBytes: Int = 1 << 20) {
        self.maxOutputBytes = maxOutputBytes
        self.maxRatio = maxRatio
        self.ratioFloorBytes = ratioFloorBytes
    }
}

/// Streaming inflation: feed compressed chunks as they arrive, receive inflated chunks, never
/// holding more than one output buffer. Throws as soon as a limit is passed.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let limits: InflateLimits
    private var format: CompressionFormat
    private var initialised = false
    private var finished = false
    private var output = [UInt8](repeating: 0, count: 64 * 1024)
    /// The first byte of a deflate body, held until the second says which kind it is.
    private var header: [UInt8] = []
    public private(set) var totalIn = 0
    public private(set) var totalOut = 0

    public init(format: CompressionFormat, limits: InflateLimits = InflateLimits()) {
        self.format = format
        self.limits = limits
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one chunk; `emit` receives each inflated piece (valid only during the call).
    public func feed(_ chunk: [UInt8], emit: (ArraySlice<UInt8>) throws -> Void) throws {
        guard !chunk.isEmpty else { return }
        var input = chunk
        if !initialised {
            // Telling zlib from raw deflate takes the first two bytes, which may come in two pieces.
            header += chunk
            guard format == .gzip || header.count >= 2 else { return }
            try start(peek: header)
            input = header
            header = []
        }
        guard !finished else {
            throw ConcordError(.invalidEncoding, "data after the end of the \(format.rawValue) stream")
        }
        totalIn += input.count
        try input.withUnsafeBufferPointer { inputBuffer in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
            stream.pointee.avail_in = UInt32(inputBuffer.count)
            repeat {
                let produced: Int = try output.withUnsafeMutableBufferPointer { outputBuffer in
                    stream.pointee.next_out = outputBuffer.baseAddress
                    stream.pointee.avail_out = UInt32(outputBuffer.count)
                    let code = CZlib.inflate(stream, Z_NO_FLUSH)
                    switch code {
                    case Z_OK, Z_BUF_ERROR: break
                    case Z_STREAM_END: finished = true
                    default:
                        throw ConcordError(.invalidEncoding, "the \(format.rawValue) body is corrupt (zlib error \(code))")
                    }
                    return outputBuffer.count - Int(stream.pointee.avail_out)
                }
                totalOut += produced
                try checkLimits()
                if produced > 0 { try emit(output[0..<produced]) }
                if finished && stream.pointee.avail_in > 0 {
                    throw ConcordError(.invalidEncoding, "data after the end of the \(format.rawValue) stream")
                }
            } while stream.pointee.avail_out == 0 || (stream.pointee.avail_in > 0 && !finished)
            stream.pointee.next_in = nil
        }
    }

    /// Call after the last chunk: throws when the stream ended early (a truncated body).
    public func finish() throws {
        guard finished else {
            throw ConcordError(.invalidEncoding, "the \(format.rawValue) body is truncated: it ends before the compressed stream does")
        }
    }

    private func checkLimits() throws {
        if totalOut > limits.maxOutputBytes {
            throw ConcordError(.tooLarge, "the body inflates past \(limits.maxOutputBytes) bytes, the limit")
        }
        if totalOut > limits.ratioFloorBytes, totalOut > totalIn * limits.maxRatio {
            throw ConcordError(.tooLarge, "the body inflates more than \(limits.maxRatio) times its compressed size, the limit")
        }
    }

    private func start(peek: [UInt8]) throws {
        let windowBits: Int32
        switch format {
        case .gzip: windowBits = 15 + 16
        case .deflate:
            // A zlib header: CM = 8 and the 16-bit header a multiple of 31. Otherwise raw deflate.
            let isZlib = peek.count >= 2 && peek[0] & 0x0f == 8 && (UInt16(peek[0]) << 8 | UInt16(peek[1])) % 31 == 0
            windowBits = isZlib ? 15 : -15
        }
        let code = concord_inflateInit2(stream, windowBits)
        guard code == Z_OK else { throw ConcordError(.invalidEncoding, "cannot start inflating (zlib error \(code))") }
        initialised = true
    }
}

