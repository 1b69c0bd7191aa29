import CSQLite
import ConcordCore

/// A failure reported by SQLite: its result code and message, and the SQL that failed.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var sql: String?

    package init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    package init(code: Int32, connection: OpaquePointer?, sql: String? = nil) {
        self.code = code
        if let connection, let text = sqlite3_errmsg(connection) {
            self.message = String(cString: text)
        } else {
            self.message = String(cString: sqlite3_errstr(code))
        }
        self.sql = sql
    }

    /// The primary result code (SQLITE_CONSTRAINT, SQLITE_BUSY…), without extended bits.
    public var primaryCode: Int32 { code & 0xff }

    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " [\($0.prefix(120))]" } ?? "")
    }
}

extension SQLiteError: ConcordErrorConvertible {
    /// A storage failure, in SQLite's own words.
    public var concordError: ConcordError { ConcordError(.storage, description, cause: self) }
}
