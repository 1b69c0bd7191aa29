import CSQLite
import ConcordCore
import ConcordProjections
import Logging

/// The event log in one SQLite file (WAL mode), the embedded default: one file a node, readable
/// with any SQLite tool. Tables, triggers and encodings are in docs/storage-format.md.
///
/// Thread-safe: one connection behind a mutex. Several processes may open the same file; SQLite's
/// locking serialises their writes and every append re-reads the chain head inside its transaction.
public final class SQLiteEventStore: EventStore {
    public struct Options: Sendable {
        /// How hard a commit is pushed to disk before `append` returns.
        public enum Durability: String, Sendable, CaseIterable {
            /// `synchronous=FULL`: a commit survives power loss as well as a killed process.
            case full
            /// `synchronous=NORMAL`: survives a killed process; the last commits may be lost on power loss.
            case normal
        }

        public var durability: Durability
        /// How long to wait for another process's write lock before failing.
        public var busyTimeoutMillis: Int32
        /// Milliseconds since 1970 for recording and storing events; the convergence simulation
        /// replaces it with a simulated clock so a seed replays exactly.
        package var clock: @Sendable () -> Int64 = Timestamp.nowMillis
        /// The format new events are written in: 2. Benchmarks set 1 to compare with releases
        /// before need-to-know (`concord import --new --event-format 1`, hidden).
        package var eventFormat = 2

        public init(durability: Durability = .full, busyTimeoutMillis: Int32 = 5000) {
            self.durability = durability
            self.busyTimeoutMillis = busyTimeoutMillis
        }
    }

    public let path: String
    public let options: Options
    package let logger: Logger
    package let state: ConnectionLock<State>
    /// Appends waiting for a group commit (see `append(_:expecting:)`).
    let pendingAppends = PendingAppends()
    /// Signalled after each commit that stores events or seals, by this process; with
    /// `watchOtherProcesses()`, also when another process commits to the file.
    public let commits = CommitSignal()

    package struct State {
        package let connection: SQLiteConnection
        /// The verified signing key of the current incarnation, once checked in this process.
        var writerKey: NodeKey?
    }

    private init(path: String, connection: SQLiteConnection, options: Options, logger: Logger) {
        self.path = path
        self.options = options
        self.logger = logger
        self.state = ConnectionLock(State(connection: connection, writerKey: nil))
    }

    // MARK: Creating and opening

    /// Creates a new store and the node's first incarnation (origin and key pair).
    ///
    /// Writes `path` (mode 0600) and `path.key` (mode 0600). Fails if `path` exists.
    public static func create(
        at path: String, nodeName: String, options: Options = Options(), logger: Logger
    ) throws -> SQLiteEventStore {
        try create(at: path, nodeName: nodeName, key: NodeKey(), options: options, logger: logger)
    }

    /// Creates a store with a given first key (the simulation derives keys from its seed).
    package static func create(
        at path: String, nodeName: String, key: NodeKey, options: Options, logger: Logger
    ) throws -> SQLiteEventStore {
        try Identifier.validate(nodeName, what: "node name", maxLength: 100)
        let keyPath = NodeKeyFile.path(forStore: path)
        if FileSystem.exists(path) {
            throw ConcordError(.storeExists, "a store already exists at \(path); use it, or choose another --store path")
        }
        try FileSystem.createPrivateFile(path)
        do {
            let connection = try storage("create the store at \(path)") {
                try SQLiteConnection(path: path, flags: [.readWrite])
            }
            try storage("initialise the store at \(path)") {
                try connection.execute("PRAGMA journal_mode=WAL")
                try connection.execute("PRAGMA application_id=\(applicationID)")
            }
            try configure(connection, options: options)
            try migrate(connection, path: path)
            let identity = FileSystem.identity(of: path) ?? (0, 0)
            let now = options.clock()
            try NodeKeyFile.write(key, nodeName: nodeName, to: keyPath)
            try storage("record the node in \(path)") {
                try connection.transaction {
                    try connection.prepare("INSERT INTO node (id, name, origin, file_device, file_inode, created_at) VALUES (1, ?, ?, ?, ?, ?)")
                        .run([.text(nodeName), .text(key.origin.hex), .integer(identity.device), .integer(identity.inode), .integer(now)])
                    try recordIncarnation(connection, key: key, nodeName: nodeName, reason: "created", at: now)
                }
            }
            FileSystem.syncDirectory(containing: path)
            logger.info("created store", metadata: ["path": "\(path)", "node": "\(nodeName)", "origin": "\(key.origin)"])
            return SQLiteEventStore(path: path, connection: connection, options: options, logger: logger)
        } catch {
            for file in [path, path + "-wal", path + "-shm", keyPath] { FileSystem.remove(file) }
            throw error
        }
    }

    /// Opens an existing store, applying any migrations this build adds.
    public static func open(at path: String, options: Options = Options(), logger: Logger) throws -> SQLiteEventStore {
        guard FileSystem.exists(path) else {
            throw ConcordError(.storeNotFound, "no store at \(path); create one with: concord init --node NAME --store \(path)")
        }
        guard let header = FileSystem.header(of: path, count: 16) else {
            throw ConcordError(.storage, "cannot read \(path)")
        }
        guard header.count == 16, header.elementsEqual("SQLite format 3\0".utf8) else {
            throw ConcordError(.notAConcordStore, "\(path) is not a Concord store (it is not an SQLite database)")
        }
        let connection = try storage("open \(path)") {
            try SQLiteConnection(path: path, flags: [.readWrite])
        }
        let application = try storage("read \(path)") { try connection.scalarInt("PRAGMA application_id") ?? 0 }
        guard application == Int64(applicationID) else {
            throw ConcordError(.notAConcordStore, "\(path) is an SQLite database but not a Concord store (application id \(application))")
        }
        try configure(connection, options: options)
        try migrate(connection, path: path)
        try storage("finish scrubbing erased data in \(path)") { try scrubIfPending(connection) }
        // Read models of another release's version are folded again now, as the next catch-up
        // would: a store this release opened holds read models of this release's version, so
        // verify (which opens read-only and writes nothing) may take another version as a fault.
        try storage("bring the read models of \(path) to this release's version") {
            if let version = try projectionCheckpoint(connection).version, version != ReadModelSchema.version {
                try connection.transaction { _ = try rebuild(connection) }
            }
        }
        do {
            try storage("move peer tokens out of \(path)") { try moveTokensOutOfStore(connection, path: path) }
        } catch {
            // The store stays usable; the tokens stay where they were until this works.
            logger.warning("could not move peer tokens out of the store", metadata: ["error": "\(error)"])
        }
        return SQLiteEventStore(path: path, connection: connection, options: options, logger: logger)
    }

    /// Opens a store to check it, changing no byte of it: a read-only connection, no migration,
    /// no scrub, no tokens moved (`concord verify`). Nil when the file's schema is not this
    /// build's (older: it must be migrated, which is done on a scratch copy instead). SQLite may
    /// create the file's empty `-wal` and `-shm` companions if they are missing, as any reader does.
    public static func openReadOnly(at path: String, logger: Logger) throws -> SQLiteEventStore? {
        guard FileSystem.exists(path) else {
            throw ConcordError(.storeNotFound, "no store at \(path)")
        }
        guard let header = FileSystem.header(of: path, count: 16), header.count == 16, header.elementsEqual("SQLite format 3\0".utf8) else {
            throw ConcordError(.notAConcordStore, "\(path) is not a Concord store (it is not an SQLite database)")
        }
        let connection = try storage("open \(path) read-only") { try SQLiteConnection(path: path, flags: [.readOnly]) }
        let application = try storage("read \(path)") { try connection.scalarInt("PRAGMA application_id") ?? 0 }
        guard application == Int64(applicationID) else {
            throw ConcordError(.notAConcordStore, "\(path) is an SQLite database but not a Concord store (application id \(application))")
        }
        let applied = try storage("read the migrations of \(path)") { () -> Set<String> in
            guard try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'") == 1 else { return [] }
            var names = Set<String>()
            let statement = try connection.prepare("SELECT name FROM schema_migrations")
            while try statement.step() { names.insert(statement.text(0)) }
            return names
        }
        let known = Set(migrations.map(\.name))
        if let unknown = applied.subtracting(known).sorted().first {
            throw ConcordError(.storeTooNew, "\(path) was written by a newer Concord (migration \(unknown)); upgrade concord to read it")
        }
        guard applied == known else { return nil }
        try storage("configure the connection") {
            try connection.execute("PRAGMA busy_timeout=5000")
            // verify folds the read models again into temporary tables: kept in memory, as a
            // read-only connection writes no file.
            try connection.execute("PRAGMA temp_store=MEMORY")
        }
        return SQLiteEventStore(path: path, connection: connection, options: Options(), logger: logger)
    }

    private static func configure(_ connection: SQLiteConnection, options: Options) throws {
        try storage("configure the connection") {
            try connection.execute("PRAGMA busy_timeout=\(options.busyTimeoutMillis)")
            try connection.execute("PRAGMA synchronous=\(options.durability == .full ? "FULL" : "NORMAL")")
            try connection.execute("PRAGMA foreign_keys=OFF")
            // Deleted and overwritten content is zeroed, so erased openings (and the read-model
            // rows folded from them) leave no copy in free space (docs/privacy.md).
            try connection.execute("PRAGMA secure_delete=ON")
            // 64 MiB of page cache (the default is 2 MiB): a large commit that outgrows the cache
            // spills pages to the WAL and writes each index page again every time it changes.
            try connection.execute("PRAGMA cache_size=-65536")
        }
        // The file's triggers (docs/storage-format.md) refuse rewrites from every other SQLite
        // client. Concord's own connection runs without them: it never updates or deletes
        // history, and checks in code, inside each write transaction, what the insert trigger
        // checks (an origin continues from the head read under the write lock, seq = last + 1,
        // never OR REPLACE; the unique index still refuses a duplicate). Firing the trigger cost
        // a quarter of an import's time (docs/performance.md); `concord verify` checks the result.
        connection.setTriggersEnabled(false)
    }

    /// Applies, in order and each in its own transaction, the migrations the store has not seen.
    private static func migrate(_ connection: SQLiteConnection, path: String) throws {
        try storage("migrate \(path)") {
            try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
            var applied = Set<String>()
            let statement = try connection.prepare("SELECT name FROM schema_migrations")
            while try statement.step() { applied.insert(statement.text(0)) }
            let known = Set(migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw ConcordError(.storeTooNew, "\(path) was written by a newer Concord (migration \(unknown)); upgrade concord to open it")
            }
            for migration in migrations where !applied.contains(migration.name) {
                try connection.transaction {
                    try connection.execute(migration.sql)
                    try connection.prepare("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)")
                        .run([.text(migration.name), .integer(Timestamp.nowMillis())])
                }
            }
        }
    }

    /// Runs SQLite work, turning its errors into `ConcordError.storage` with what was being done.
    package static func storage<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ConcordError {
            throw error
        } catch let error as SQLiteError {
            throw ConcordError(.storage, "could not \(what): \(error.message)", cause: error)
        }
    }

    package func withConnection<T>(_ what: String, _ body: (inout State) throws -> T) throws -> T {
        try state.withLock { state in
            defer { state.connection.resetBusyStatements() }
            return try Self.storage(what) { try body(&state) }
        }
    }
}
