/// An event's `prev` list as every store keeps it in one text column: event ids `ORIGIN:SEQ`
/// separated by single spaces, in the event's order; empty when there are none
/// (docs/storage-format.md). One definition, so that every backend stores and reads it alike.
public enum StoredPrevList {
    public static func encode(_ prev: [EventID]) -> String {
        prev.map(\.description).joined(separator: " ")
    }

    /// Leniently: a damaged id reads as seq 0 (or an empty origin), so that verification reports
    /// the row instead of failing to read it.
    public static func decode(_ text: String) -> [EventID] {
        guard !text.isEmpty else { return [] }
        var text = text
        // Byte by byte over the UTF-8 in place: a fold reads every event's list.
        return text.withUTF8 { bytes in
            var prev: [EventID] = []
            var start = 0
            while start < bytes.count {
                var end = start
                var colon: Int?
                while end < bytes.count, bytes[end] != UInt8(ascii: " ") {
                    if colon == nil, bytes[end] == UInt8(ascii: ":") { colon = end }
                    end += 1
                }
                if end > start {
                    let originEnd = colon ?? end
                    let origin = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<originEnd]), as: UTF8.self)
                    var seq: UInt64 = 0
                    if let colon { seq = digits(bytes[(colon + 1)..<end]) }
                    prev.append(EventID(origin: OriginID(unchecked: origin), seq: seq))
                }
                start = end + 1
            }
            return prev
        }
    }

    /// A decimal seq, or 0 when the bytes are empty, hold a non-digit or overflow (a damaged id).
    private static func digits(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64 {
        guard !bytes.isEmpty else { return 0 }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return 0 }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return 0 }
            value = sum
        }
        return value
    }
}
