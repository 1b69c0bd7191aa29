import CSQLite

/// A prepared statement: bind, step, read columns. Finalised when released.
package final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    package let sql: String

    init(connection: SQLiteConnection, sql: String) throws {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw SQLiteError(code: code, connection: connection.handle, sql: sql)
        }
        self.handle = handle
        self.connection = connection.handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    var handleForExtensions: OpaquePointer { handle }

    package func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw SQLiteError(code: code, connection: connection, sql: sql) }
    }

    /// Binds by 1-based index.
    package func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    package func bind(_ index: Int32, _ value: String) throws {
        try check(sqlite3_bind_text(handle, index, value, -1, sqliteTransient))
    }

    package func bind(_ index: Int32, _ value: String?) throws {
        if let value { try bind(index, value) } else { try check(sqlite3_bind_null(handle, index)) }
    }

    package func bind(_ index: Int32, _ value: [UInt8]) throws {
        try value.withUnsafeBytes { buffer in
            // A zero-length blob must still be a blob, not NULL: SQLite needs a non-nil pointer for that.
            if buffer.count == 0 {
                try check(sqlite3_bind_zeroblob(handle, index, 0))
            } else {
                try check(sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), sqliteTransient))
            }
        }
    }

    package func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let v): try bind(index, v)
            case .text(let v): try bind(index, v)
            case .blob(let v): try bind(index, v)
            case .null: try check(sqlite3_bind_null(handle, index))
            }
        }
    }

    /// Binds `texts` without SQLite copying them (`SQLITE_STATIC`): their bytes are laid out in
    /// `scratch`, borrowed while `body` runs (it steps the statement), and the statement is reset
    /// and its bindings cleared before `scratch` is let go. For the per-event insert, where a copy
    /// of each of its eight texts was a malloc and a memcpy apiece.
    package func withBorrowedTexts<R>(_ texts: [(index: Int32, value: String?)], scratch: inout [UInt8], _ body: () throws -> R) throws -> R {
        scratch.removeAll(keepingCapacity: true)
        var ranges: [Range<Int>?] = []
        ranges.reserveCapacity(texts.count)
        for text in texts {
            guard let value = text.value else { ranges.append(nil); continue }
            let start = scratch.count
            scratch.append(contentsOf: value.utf8)
            ranges.append(start..<scratch.count)
        }
        return try scratch.withUnsafeBufferPointer { buffer in
            defer { reset() }
            for (text, range) in zip(texts, ranges) {
                if let range {
                    // A non-nil pointer even for an empty text, which must stay '' and not become NULL.
                    let pointer = buffer.baseAddress.map { UnsafeRawPointer($0 + range.lowerBound) } ?? UnsafeRawPointer(bitPattern: 1)!
                    try check(sqlite3_bind_text(handle, text.index, pointer.assumingMemoryBound(to: CChar.self), Int32(range.count), sqliteStatic))
                } else {
                    try check(sqlite3_bind_null(handle, text.index))
                }
            }
            return try body()
        }
    }

    /// Advances: true when a row is ready, false when the statement is done.
    @discardableResult
    package func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(code: code, connection: connection, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Steps to completion (for statements that return no rows).
    package func run(_ values: [SQLiteValue] = []) throws {
        if !values.isEmpty { try bind(values) }
        while try step() {}
    }

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    package func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    package func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    package func blob(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

extension SQLiteStatement {
    package enum ColumnType { case null, integer, text }

    /// Blobs and floats do not occur in read models; they read as text.
    package func columnType(_ column: Int32) -> ColumnType {
        switch sqlite3_column_type(handleForExtensions, column) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .integer
        default: .text
        }
    }

    package var columnNames: [String] {
        (0..<sqlite3_column_count(handleForExtensions)).map { String(cString: sqlite3_column_name(handleForExtensions, $0)) }
    }
}
