import ConcordCore

/// One SHA-256 over every read-model table: equal digests mean byte-identical read models.
///
/// Tables in `ReadModelSchema.tables` order; within each, rows sorted by primary key (as SQL's
/// BINARY collation sorts them); every value length-prefixed and typed. Local facts (positions,
/// arrival times) are not in the read models, so nodes holding the same events agree.
public struct ReadModelDigest: Sendable {
    private var writer = CanonicalWriter(capacity: 1 << 16)
    private var hasher = IncrementalSHA256()

    public init() {
        writer.write("concord.read-models.v\(ReadModelSchema.version)")
    }

    /// Adds one table's rows (any order: they are sorted here).
    public mutating func add(table: ReadModelSchema.Table, rows: [[SQLValue]]) {
        let keys = table.primaryKeyIndexes
        let sorted = rows.sorted { lhs, rhs in
            for index in keys where lhs[index] != rhs[index] { return lhs[index] < rhs[index] }
            return false
        }
        writer.write(table.name)
        writer.write(UInt64(sorted.count))
        for row in sorted {
            for value in row {
                switch value {
                case .null: writer.write(UInt8(0))
                case .integer(let number): writer.write(UInt8(1)); writer.write(number)
                case .text(let text): writer.write(UInt8(2)); writer.write(text)
                }
            }
            if writer.bytes.count > 1 << 16 { flush() }
        }
        flush()
    }

    private mutating func flush() {
        hasher.update(writer.bytes)
        writer = CanonicalWriter(capacity: 1 << 16)
    }

    public consuming func finish() -> String {
        flush()
        return hasher.finalize().hex
    }
}
