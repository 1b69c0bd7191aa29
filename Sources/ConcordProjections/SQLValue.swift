/// A read-model cell: what plain SQL tables hold, in a form every backend and the digest share.
public enum SQLValue: Sendable, Hashable, Comparable, CustomStringConvertible {
    case null
    case integer(Int64)
    case text(String)

    public init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }

    /// SQLite's order for these types with BINARY collation: NULL, then integers, then text by bytes.
    public static func < (lhs: SQLValue, rhs: SQLValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): false
        case (.null, _): true
        case (_, .null): false
        case let (.integer(a), .integer(b)): a < b
        case (.integer, .text): true
        case (.text, .integer): false
        case let (.text(a), .text(b)): a.utf8.lexicographicallyPrecedes(b.utf8)
        }
    }

    public var description: String {
        switch self {
        case .null: ""
        case .integer(let value): String(value)
        case .text(let value): value
        }
    }
}
