import ConcordCore
import ConcordZlib
import Foundation
import Testing

struct ZlibTests {
    let text = Array(String(repeating: #"{"stream":"case:WY-2016-0012","type":"case.note-added","data":{"note":"seen"}}"# + "\n", count: 500).utf8)

    @Test(arguments: CompressionFormat.allCases)
    func roundTripsWholeAndInPieces(format: CompressionFormat) throws {
        let compressed = Zlib.compress(text, format: format)
        #expect(compressed.count < text.count / 4)
        #expect(try Zlib.decompress(compressed, format: format) == text)
        // Fed one small piece at a time, as a network delivers it.
        let inflater = Inflater(format: format)
        var output: [UInt8] = []
        var index = 0
        while index < compressed.count {
            try inflater.feed(Array(compressed[index..<min(index + 7, compressed.count)])) { output += $0 }
            index += 7
        }
        try inflater.finish()
        #expect(output == text)
    }

    /// The one-shot compress writes into one buffer sized by zlib's bound: bodies of every size
    /// around the streaming buffer (64 KiB), incompressible ones (the bound's worst case) too,
    /// at every level, come back whole.
    @Test(arguments: CompressionFormat.allCases)
    func oneShotCompressionRoundTripsAtTheEdgesOfItsBuffer(format: CompressionFormat) throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 65_535, 65_536, 65_537, 300_000] {
            let random = (0..<size).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let repetitive = Array(text.prefix(size)) + Array(repeating: 0x20, count: max(0, size - text.count))
            for body in [random, repetitive] {
                for level: Int32 in [0, 1, 6, 9] {
                    let oneShot = Zlib.compress(body, format: format, level: level)
                    let inflated = try Zlib.decompress(oneShot, format: format)
                    #expect(inflated.count == body.count && inflated == body, "size \(size), level \(level)")
                }
            }
        }
    }

    @Test func gzipFromTheStandardToolIsAccepted() throws {
        // `printf 'hello concord\n' | gzip -9n`, as the gzip command writes it.
        let fromGzip: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0xce,
                                 0xcf, 0x4b, 0xce, 0x2f, 0x4a, 0xe1, 0x02, 0x00, 0x88, 0x9d, 0xea, 0xb2, 0x0e, 0x00, 0x00, 0x00]
        #expect(try Zlib.decompress(fromGzip, format: .gzip) == Array("hello concord\n".utf8))
    }

    @Test func rawDeflateIsAcceptedAsDeflate() throws {
        // Raw deflate (no zlib header) of "hello concord\n", which some clients send as deflate.
        let raw: [UInt8] = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0xce, 0xcf, 0x4b, 0xce, 0x2f, 0x4a, 0xe1, 0x02, 0x00]
        #expect(try Zlib.decompress(raw, format: .deflate) == Array("hello concord\n".utf8))
    }

    @Test(arguments: CompressionFormat.allCases)
    func aTruncatedBodyIsRefused(format: CompressionFormat) {
        let compressed = Zlib.compress(text, format: format)
        let error = #expect(throws: ConcordError.self) { try Zlib.decompress(Array(compressed.prefix(compressed.count / 2)), format: format) }
        #expect(error?.code == .invalidEncoding)
        #expect(error?.message.contains("truncated") == true)
    }

    @Test func aBombIsStoppedAtTheOutputLimitWithoutInflatingIt() {
        let zeros = [UInt8](repeating: 0, count: 50 << 20)
        let bomb = Zlib.compress(zeros, format: .gzip, level: 9)
        #expect(bomb.count < 100_000)
        let inflater = Inflater(format: .gzip, limits: InflateLimits(maxOutputBytes: 4 << 20, maxRatio: 10_000))
        var received = 0
        let error = #expect(throws: ConcordError.self) { try inflater.feed(bomb) { received += $0.count } }
        #expect(error?.code == .tooLarge)
        #expect(received <= 4 << 20)
    }

    @Test func anExtremeRatioIsStoppedEvenUnderTheSizeLimit() {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let bomb = Zlib.compress(zeros, format: .gzip, level: 9)
        let error = #expect(throws: ConcordError.self) {
            try Zlib.decompress(bomb, format: .gzip, limits: InflateLimits(maxOutputBytes: 64 << 20, maxRatio: 100, ratioFloorBytes: 1 << 20))
        }
        #expect(error?.message.contains("times its compressed size") == true)
    }

    @Test func garbageAndTrailingDataAreRefused() {
        #expect(throws: ConcordError.self) { try Zlib.decompress(Array("not compressed at all".utf8), format: .gzip) }
        let twice = Zlib.compress(text, format: .gzip) + Array("junk".utf8)
        let error = #expect(throws: ConcordError.self) { try Zlib.decompress(twice, format: .gzip) }
        #expect(error?.message.contains("after the end") == true)
    }

    @Test func contentEncodingNames() throws {
        #expect(try CompressionFormat.fromContentEncoding("gzip") == .gzip)
        #expect(try CompressionFormat.fromContentEncoding(" Deflate ") == .deflate)
        #expect(try CompressionFormat.fromContentEncoding(nil) == nil)
        #expect(try CompressionFormat.fromContentEncoding("identity") == nil)
        let error = #expect(throws: ConcordError.self) { try CompressionFormat.fromContentEncoding("br") }
        #expect(error?.code == .unsupportedEncoding)
    }

    /// Feeds `compressed` to an inflater with the protocol's ratio limit in pieces of `piece`
    /// bytes; the inflated bytes, or the refusal.
    func inflate(_ compressed: [UInt8], format: CompressionFormat, piece: Int) throws -> [UInt8] {
        let inflater = Inflater(format: format, limits: InflateLimits(maxOutputBytes: 64 << 20, maxRatio: 100, ratioFloorBytes: 1 << 20))
        var output: [UInt8] = []
        var index = 0
        while index < compressed.count {
            try inflater.feed(Array(compressed[index..<min(index + piece, compressed.count)])) { output += $0 }
            index += piece
        }
        try inflater.finish()
        return output
    }

    @Test(arguments: CompressionFormat.allCases)
    func aRatioBoundBodyIsNeverRefusedByTheRatioLimitHoweverCompressible(format: CompressionFormat) throws {
        let bound = InflateLimits(maxOutputBytes: .max, maxRatio: 100, ratioFloorBytes: 1 << 20)
        var random = SeededRandom(seed: 5)
        // A note of a million spaces, a body of several, and a mix of compressible and not.
        let spaces = [UInt8](repeating: 0x20, count: 3 << 20)
        let noise = (0..<(600 << 10)).map { _ in UInt8.random(in: 0...255, using: &random) }
        for (body, refusedUnbound) in [(spaces, true), (Array(spaces.prefix((1 << 20) + 100)), true), (noise + spaces + noise + spaces, false), (text + spaces, true)] {
            // Without the bound, the receiver refuses the most compressible: the checks below can fail.
            if refusedUnbound {
                #expect(throws: ConcordError.self) { try inflate(Zlib.compress(body, format: format), format: format, piece: 4096) }
            }
            let deflater = Deflater(format: format, ratioBound: bound)
            var compressed: [UInt8] = []
            // In pieces, as a streamed answer is compressed.
            var index = 0
            while index < body.count {
                compressed += deflater.compress(Array(body[index..<min(index + 100_000, body.count)]))
                index += 100_000
            }
            compressed += deflater.finish()
            // Whatever pieces the network delivers it in, and the receiver checks after each.
            for piece in [1, 1500, 65536] where piece > 1 || body.count <= 2 << 20 {
                #expect(try inflate(compressed, format: format, piece: piece) == body, "piece \(piece)")
            }
            // It still compresses what can be (well within the ratio).
            #expect(compressed.count < body.count)
        }
    }
}
