import ConcordCore

/// One row where the stored read models are not the fold of the log.
public struct ReadModelDifference: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The stored row's values differ from the folded row with the same key.
        case changed
        /// A stored row the fold does not make.
        case added
        /// A row the fold makes that is not stored.
        case missing
    }

    public var table: String
    /// The row's primary key, `column=value` each.
    public var key: String
    public var kind: Kind
    /// For `changed`: the columns that differ, `column: stored → folded` each.
    public var detail: String

    public init(table: String, key: String, kind: Kind, detail: String) {
        self.table = table
        self.key = key
        self.kind = kind
        self.detail = detail
    }

    public var description: String {
        "table \(table) row (\(key)): \(kind.rawValue)\(detail.isEmpty ? "" : " (\(detail))")"
    }
}

/// The rule `concord verify` applies to read models on every backend: the rows stored must be
/// exactly the rows a fresh fold of the log makes.
public enum ReadModelComparison {
    public static func differences(table: ReadModelSchema.Table, stored: [[SQLValue]], folded: [[SQLValue]]) -> [ReadModelDifference] {
        let keyIndexes = table.primaryKeyIndexes
        func key(_ row: [SQLValue]) -> [SQLValue] { keyIndexes.map { row[$0] } }
        func describe(_ key: [SQLValue]) -> String {
            zip(table.primaryKey, key).map { "\($0)=\($1)" }.joined(separator: ", ")
        }
        let foldedByKey = Dictionary(folded.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        var seen: Set<[SQLValue]> = []
        var differences: [ReadModelDifference] = []
        for row in stored {
            let rowKey = key(row)
            seen.insert(rowKey)
            guard let expected = foldedByKey[rowKey] else {
                differences.append(ReadModelDifference(table: table.name, key: describe(rowKey), kind: .added, detail: ""))
                continue
            }
            guard row != expected else { continue }
            let columns = table.columns.indices.filter { row[$0] != expected[$0] }.map { "\(table.columns[$0].name): \(row[$0]) → \(expected[$0])" }
            differences.append(ReadModelDifference(table: table.name, key: describe(rowKey), kind: .changed, detail: "stored → folded: " + columns.joined(separator: "; ")))
        }
        for row in folded where !seen.contains(key(row)) {
            differences.append(ReadModelDifference(table: table.name, key: describe(key(row)), kind: .missing, detail: ""))
        }
        return differences.sorted { ($0.table, $0.key) < ($1.table, $1.key) }
    }
}
