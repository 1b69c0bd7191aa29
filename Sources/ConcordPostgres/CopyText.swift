import NIOCore

/// Values in COPY's text format: tab-separated, `\N` for NULL, backslash escapes for the
/// characters that would end a field or a row, bytea as `\\x` and hex.
enum CopyText {
    static func field(_ value: Int64, _ buffer: inout ByteBuffer, first: Bool = false) {
        if !first { buffer.writeInteger(UInt8(ascii: "\t")) }
        buffer.writeString(String(value))
    }

    static func field(_ value: String?, _ buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\t"))
        guard let value else {
            buffer.writeStaticString("\\N")
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func bytes(_ value: [UInt8]?, _ buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\t"))
        guard let value else {
            buffer.writeStaticString("\\N")
            return
        }
        // The bytea text form `\x…`, its backslash escaped for COPY.
        buffer.writeStaticString("\\\\x")
        for byte in value {
            buffer.writeInteger(hexDigits[Int(byte >> 4)])
            buffer.writeInteger(hexDigits[Int(byte & 0x0F)])
        }
    }
}
