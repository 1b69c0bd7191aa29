import CSQLite

/// `SQLITE_TRANSIENT`, which the C macro defines as `(sqlite3_destructor_type)-1`: SQLite copies the value.
package let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
/// `SQLITE_STATIC` (a null destructor): SQLite uses the value in place, which must outlive the step.
package let sqliteStatic: sqlite3_destructor_type? = nil

/// One SQLite connection, with a cache of prepared statements for the hot paths.
///
/// Not thread-safe: its owner serialises access (the store keeps it behind a mutex).
package final class SQLiteConnection {
    package let handle: OpaquePointer
    private var statementCache: [String: SQLiteStatement] = [:]

    package struct OpenFlags: OptionSet {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        package static let readOnly = OpenFlags(rawValue: SQLITE_OPEN_READONLY)
        package static let readWrite = OpenFlags(rawValue: SQLITE_OPEN_READWRITE)
        package static let create = OpenFlags(rawValue: SQLITE_OPEN_CREATE)
    }

    package init(path: String, flags: OpenFlags) throws {
        var handle: OpaquePointer?
        // NOMUTEX: the owner serialises access; EXRESCODE: extended result codes in errors.
        let code = sqlite3_open_v2(path, &handle, flags.rawValue | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard code == SQLITE_OK, let handle else {
            let error = SQLiteError(code: code, connection: handle)
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    package func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw SQLiteError(code: code, message: text, sql: sql)
        }
    }

    /// A new prepared statement (finalised when released).
    package func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    /// A prepared statement kept for reuse; it is reset and its bindings cleared before it is returned.
    package func cached(_ sql: String) throws -> SQLiteStatement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    /// Turns SQLite triggers off (or on) for this connection. Changing it expires prepared statements.
    package func setTriggersEnabled(_ enabled: Bool) {
        concord_sqlite3_enable_triggers(handle, enabled ? 1 : 0)
    }

    /// The single integer a query returns, or nil when it returns no row or NULL.
    package func scalarInt(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> Int64? {
        let statement = try cached(sql)
        try statement.bind(bindings)
        defer { statement.reset() }
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int64(0)
    }

    /// The single text a query returns, or nil when it returns no row or NULL.
    package func scalarText(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> String? {
        let statement = try cached(sql)
        try statement.bind(bindings)
        defer { statement.reset() }
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.text(0)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// `immediate` takes the write lock at once, so reads inside see what the writes will build on.
    package func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            // A statement left part-way through its rows (a LIMIT 1 lookup) keeps a read open past
            // the commit, and then the commit's automatic WAL checkpoint does nothing: the WAL of a
            // store another process holds open (a server) would grow without end.
            resetBusyStatements()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Resets every statement left part-way through its rows, so none holds a read open
    /// (an unfinished statement blocks VACUUM and keeps the WAL from being checkpointed).
    package func resetBusyStatements() {
        var statement = sqlite3_next_stmt(handle, nil)
        while let current = statement {
            if sqlite3_stmt_busy(current) != 0 { sqlite3_reset(current) }
            statement = sqlite3_next_stmt(handle, current)
        }
    }

    package var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A value to bind to a statement parameter.
package enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

/// The rowid of the last row inserted on this connection.
package func sqlite3LastInsertRowID(_ connection: SQLiteConnection) -> Int64 {
    sqlite3_last_insert_rowid(connection.handle)
}
