import ConcordCore
import ConcordDomain

/// A stream's history event by event, in the projections' order: for each event, the stream's
/// read-model rows before and after it, and what it changed (`concord replay`, the web view's
/// timelines).
public enum StreamReplay {
    public struct Step: Sendable {
        public var event: StoredEvent
        /// The step's place, from 1, in the projections' order.
        public var number: Int
        public var changes: [Change]
    }

    /// One row an event added, removed or changed.
    public struct Change: Sendable, Hashable {
        public enum Kind: String, Sendable { case added, removed, changed }
        public var table: String
        /// The row's primary key, `column=value` each.
        public var key: String
        public var kind: Kind
        /// For `changed`: `column: before → after` each.
        public var columns: [String]
        /// The row after the step (before it, for `removed`), `column=value` each, nulls left out.
        public var row: [String]
    }

    public static func steps(stream: StreamID, events: [StoredEvent]) -> [Step] {
        let ordered = events.sorted { Event.projectionOrder($0.event, $1.event) }
        var before = ReadModelRows.rows(stream: stream, events: [])
        var steps: [Step] = []
        for index in ordered.indices {
            let after = ReadModelRows.rows(stream: stream, events: ordered[...index].map(\.event))
            steps.append(Step(event: ordered[index], number: index + 1, changes: changes(from: before, to: after)))
            before = after
        }
        return steps
    }

    /// What changed between two sets of rows (of one stream, or of whole tables).
    public static func changes(from before: ReadModelRows, to after: ReadModelRows) -> [Change] {
        var changes: [Change] = []
        for table in ReadModelSchema.tables {
            let old = before.tables[table.name] ?? [], new = after.tables[table.name] ?? []
            guard old != new else { continue }
            let keys = table.primaryKeyIndexes
            func key(_ row: [SQLValue]) -> [SQLValue] { keys.map { row[$0] } }
            func describeKey(_ row: [SQLValue]) -> String { zip(table.primaryKey, key(row)).map { "\($0)=\($1)" }.joined(separator: ", ") }
            func describe(_ row: [SQLValue]) -> [String] {
                table.columns.indices.filter { row[$0] != .null && table.columns[$0].name != "stream" }.map { "\(table.columns[$0].name)=\(row[$0])" }
            }
            let oldByKey = Dictionary(old.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
            let newKeys = Set(new.map(key))
            for row in new {
                if let previous = oldByKey[key(row)] {
                    guard previous != row else { continue }
                    let columns = table.columns.indices.filter { previous[$0] != row[$0] }.map { "\(table.columns[$0].name): \(previous[$0]) → \(row[$0])" }
                    changes.append(Change(table: table.name, key: describeKey(row), kind: .changed, columns: columns, row: describe(row)))
                } else {
                    changes.append(Change(table: table.name, key: describeKey(row), kind: .added, columns: [], row: describe(row)))
                }
            }
            for row in old where !newKeys.contains(key(row)) {
                changes.append(Change(table: table.name, key: describeKey(row), kind: .removed, columns: [], row: describe(row)))
            }
        }
        return changes
    }
}
