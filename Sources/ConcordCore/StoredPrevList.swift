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
        var prev: [EventID] = []
        var utf8 = text.utf8[...]
        while !utf8.isEmpty {
            let end = utf8.firstIndex(of: UInt8(ascii: " ")) ?? utf8.endIndex
            let id = utf8[..<end]
            if !id.isEmpty {
                let colon = id.firstIndex(of: UInt8(ascii: ":"))
                let origin = String(Substring(id[..<(colon ?? id.endIndex)]))
                var seq: UInt64 = 0
                if let colon {
                    seq = UInt64(Substring(id[id.index(after: colon)...])) ?? 0
                }
                prev.append(EventID(origin: OriginID(unchecked: origin), seq: seq))
            }
            utf8 = end == utf8.endIndex ? utf8[end...] : utf8[utf8.index(after: end)...]
        }
        return prev
    }
}
