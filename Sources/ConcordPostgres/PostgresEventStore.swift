import ConcordCore
import ConcordProjections
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// The event store on PostgreSQL, for a hub that serves many peers at once and is backed up,
/// replicated and monitored with PostgreSQL's own tools (docs/postgres.md).
///
/// It keeps the same record as the SQLite store and judges incoming events by the same rules
/// (`BatchVerifier`, in the core); only how rows are stored and locked differs:
/// - one transaction a batch, on a pooled connection, so pulls are answered beside pushes;
/// - an origin's part of a batch is verified and stored under a transaction-scoped advisory
///   lock of that origin, so writers of one origin continue its head one after another;
/// - positions are handed out from one locked row at the end of each writing transaction, so
///   they follow commit order (a reader paging by position never skips a late commit);
/// - a commit notifies `concord_commits`, which wakes long polls in every process serving the
///   database.
///
/// The store relays what it is given; it writes no events of its own (a hub has no origin here).
public final class PostgresEventStore: Sendable {
    public let location: PostgresLocation
    let client: PostgresClient
    let logger: Logger
    /// Signalled after each commit that stores events, here or (through NOTIFY) in any process.
    public let commits = CommitSignal()
    let clock: @Sendable () -> Int64
    private let tasks: Mutex<(runner: Task<Void, Never>?, listener: Task<Void, Never>?)>
    /// Run inside each ingest's transaction just before it commits: tests hold a transaction
    /// open with it, to show what readers and other writers see meanwhile.
    private let name = Mutex<String?>(nil)
    /// The key this hub signs its checkpoints with (`useSigningKey`), never kept in the database.
    let signingKey = Mutex<NodeKey?>(nil)
    /// The newest `takenAt` of the hub's own checkpoints this process has seen (it signs at most
    /// one a second after sync batches: `takeCheckpoint(unlessWithin:)`).
    let newestCheckpointSeen = Mutex<Int64?>(nil)
    /// Origin keys read so far (append-only in the database, so never stale).
    let keys = Mutex<[OriginID: OriginKey]>([:])
    /// Batches of at least this many events are stored with COPY, smaller ones with INSERT
    /// (settable for the measurement that chose it: `CONCORD_PG_COPY_THRESHOLD`).
    package var copyThreshold: Int { Self.defaultCopyThreshold }
    static let defaultCopyThreshold = Int(ProcessInfo.processInfo.environment["CONCORD_PG_COPY_THRESHOLD"] ?? "") ?? 500
    package let beforeIngestCommit = Mutex<(@Sendable () async -> Void)?>(nil)
    /// The threads the engine's synchronous steps run on, each waiting there for its queries
    /// (`runBlocking`): more than one, as several transactions may wait at once.
    let transactionThreads = NIOThreadPool(numberOfThreads: 8)

    static let commitChannel = "concord_commits"

    private init(location: PostgresLocation, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.location = location
        self.logger = logger
        self.clock = clock
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: Self.quieter(logger))
        self.client = client
        tasks = Mutex((Task { await client.run() }, nil))
        transactionThreads.start()
    }

    /// Opens a store made by `create`, migrating it to this release's schema.
    public static func open(_ location: PostgresLocation, logger: Logger, clock: @escaping @Sendable () -> Int64 = { Timestamp.nowMillis() }) async throws -> PostgresEventStore {
        try await location.probe(logger: quieter(logger))
        let store = PostgresEventStore(location: location, logger: logger, clock: clock)
        do {
            guard try await store.migrationsApplied() != nil else {
                throw ConcordError(.storeNotFound, "\(location) holds no Concord store")
            }
            try await store.migrate()
            guard try await store.nodeNameIfAny() != nil else {
                throw ConcordError(.storeNotFound, "\(location) holds no Concord store")
            }
            store.startListening()
            return store
        } catch {
            await store.close()
            throw Self.describe(error, doing: "open the store at \(location)")
        }
    }

    /// Makes a new store in an empty database: the schema, the read-model tables, the node's name.
    public static func create(_ location: PostgresLocation, nodeName: String, logger: Logger, clock: @escaping @Sendable () -> Int64 = { Timestamp.nowMillis() }) async throws -> PostgresEventStore {
        try await location.probe(logger: quieter(logger))
        let store = PostgresEventStore(location: location, logger: logger, clock: clock)
        do {
            if try await store.migrationsApplied() != nil {
                throw ConcordError(.storeExists, "\(location) already holds a Concord store")
            }
            try await store.migrate()
            try await store.client.withTransaction(logger: logger) { connection in
                try await connection.query("INSERT INTO node (id, name, created_at) VALUES (1, \(nodeName), \(clock()))", logger: logger)
                for sql in readModelTablesSQL { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                // A new hub sends peers without rules every stream whole (`restoreSharing` changes it).
                try await connection.query("INSERT INTO settings (name, value) VALUES ('share_default', 'full')", logger: logger)
                try await connection.query(
                    "INSERT INTO projection_state (name, version, position, rebuilt_at) VALUES ('read-models', \(Int64(ReadModelSchema.version)), 0, \(clock()))",
                    logger: logger
                )
            }
            store.startListening()
            return store
        } catch {
            await store.close()
            throw Self.describe(error, doing: "create a store at \(location)")
        }
    }

    /// Stops the pool and the listener. The store cannot be used after.
    public func close() async {
        let (runner, listener) = tasks.withLock { tasks in
            defer { tasks = (nil, nil) }
            return tasks
        }
        listener?.cancel()
        _ = await listener?.value
        runner?.cancel()
        _ = await runner?.value
        try? await transactionThreads.shutdownGracefully()
    }

    /// Lets the role `role` (made by the database's administrator) use the store without owning
    /// it: it may add history but not change or remove it (`applicationGrantsSQL`).
    public func grantApplicationRole(_ role: String) async throws {
        try await run("grant \(role) the application's privileges") { connection in
            for sql in Self.applicationGrantsSQL(role: role) { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger) }
            // Remembered, so that read-model tables recreated later are granted again.
            try await connection.query("INSERT INTO settings (name, value) VALUES (\("application_role:" + role), '') ON CONFLICT DO NOTHING", logger: self.logger)
        }
    }

    /// The roles `grantApplicationRole` was given.
    func applicationRoles(_ connection: PostgresConnection) async throws -> [String] {
        var roles: [String] = []
        for try await name in try await connection.query("SELECT name FROM settings WHERE name LIKE 'application_role:%' ORDER BY name", logger: logger).decode(String.self) {
            roles.append(String(name.dropFirst("application_role:".count)))
        }
        return roles
    }

    /// The hub's name (read once: it never changes).
    public func nodeName() async throws -> String {
        if let name = name.withLock({ $0 }) { return name }
        guard let stored = try await nodeNameIfAny() else { throw ConcordError(.storeNotFound, "\(location) holds no Concord store") }
        name.withLock { $0 = stored }
        return stored
    }

    // MARK: Internals

    private func nodeNameIfAny() async throws -> String? {
        try await read("read the node") { connection in
            try await connection.query("SELECT name FROM node WHERE id = 1", logger: self.logger).first { _ in true }?.decode(String.self)
        }
    }

    /// The migrations applied, or nil when the database holds no Concord schema.
    private func migrationsApplied() async throws -> [String]? {
        try await read("read the schema version") { connection in
            let exists = try await connection.query("SELECT to_regclass('public.concord_migrations') IS NOT NULL", logger: self.logger)
                .first { _ in true }?.decode(Bool.self) ?? false
            guard exists else { return nil }
            var names: [String] = []
            for try await name in try await connection.query("SELECT name FROM concord_migrations ORDER BY name", logger: self.logger).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    /// Applies, in order and each in its own transaction, the migrations not yet applied. A
    /// database migrated by a newer release (a migration this one does not know) is refused. A
    /// store with nothing to apply is not written to (an application role may open it).
    private func migrate() async throws {
        let known = Set(Self.migrations.map(\.name))
        let before = Set(try await migrationsApplied() ?? [])
        if let unknown = before.subtracting(known).sorted().first {
            throw ConcordError(.storeTooNew, "\(location) was migrated by a newer release of Concord (migration \(unknown)); use that release")
        }
        let pending = Self.migrations.map(\.name).filter { !before.contains($0) }
        guard !pending.isEmpty else { return }
        do {
            try await applyMigrations()
        } catch where Self.sqlState(of: error) == "42501" {
            throw ConcordError(.storage, """
                \(location) lacks this release's migration\(pending.count == 1 ? "" : "s") \(pending.joined(separator: ", ")), which role \(location.username) \
                may not apply (PostgreSQL: permission denied); the schema's owner applies them by opening the store once
                """, cause: error)
        }
    }

    /// The SQLSTATE of a PostgreSQL error, however postgres-nio wrapped it.
    static func sqlState(of error: any Error) -> String? {
        if let failure = error as? PSQLError { return failure.serverInfo?[.sqlState] }
        if let transaction = error as? PostgresTransactionError {
            return [transaction.closureError, transaction.beginError, transaction.commitError].lazy.compactMap { $0.flatMap(sqlState(of:)) }.first
        }
        return nil
    }

    private func applyMigrations() async throws {
        try await client.withConnection { connection in
            try await connection.query("CREATE TABLE IF NOT EXISTS concord_migrations (name text PRIMARY KEY, applied_at bigint NOT NULL)", logger: self.logger)
            // One process migrates at a time.
            try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: self.logger)
            do {
                var applied: Set<String> = []
                for try await name in try await connection.query("SELECT name FROM concord_migrations", logger: self.logger).decode(String.self) {
                    applied.insert(name)
                }
                for migration in Self.migrations where !applied.contains(migration.name) {
                    try await connection.withTransaction(logger: self.logger) { connection in
                        for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger) }
                        try await connection.query("INSERT INTO concord_migrations (name, applied_at) VALUES (\(migration.name), \(self.clock()))", logger: self.logger)
                    }
                }
                // A migration may add a table: the application roles get their grants on it.
                if Self.migrations.contains(where: { !applied.contains($0.name) }), try await connection.query(
                    "SELECT 1 FROM information_schema.tables WHERE table_name = 'settings'", logger: self.logger
                ).decode(Int32.self).first(where: { _ in true }) != nil {
                    for role in try await self.applicationRoles(connection) {
                        do {
                            for sql in Self.applicationGrantsSQL(role: role) { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger) }
                        } catch {
                            self.logger.warning("could not grant role \(role) the application's privileges on the migrated schema (concord grants them when the role is given again)", metadata: ["error": "\(error)"])
                        }
                    }
                }
                try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: self.logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: self.logger)
                throw error
            }
        }
    }

    /// Advisory-lock keys: one for migrations, and per origin (`originLock`).
    static let migrationLock: Int64 = 0x436F_6E63_0000_0001

    /// Listens on `concord_commits` on a connection of its own, for as long as the store is open,
    /// reconnecting after a failure.
    private func startListening() {
        let task = Task { [client, commits, logger] in
            var pause: Duration = .milliseconds(100)
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.commitChannel) { notifications in
                            // Anything committed while not listening is caught up by this wake-up.
                            commits.signal()
                            pause = .milliseconds(100)
                            for try await _ in notifications { commits.signal() }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("listening for commits failed; trying again", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(5))
                }
            }
        }
        tasks.withLock { $0.listener = task }
    }

    /// Runs `body` on a pooled connection, with PostgreSQL's errors turned into `ConcordError`.
    @discardableResult
    func read<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw Self.describe(error, doing: what)
        }
    }

    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws).
    @discardableResult
    func run<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            throw Self.describe(error, doing: what)
        }
    }

    /// The pool's own log, less chatty: it warns of a lease asked for while `run()` is starting,
    /// which is harmless (the lease waits).
    static func quieter(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel > .debug { logger.logLevel = max(logger.logLevel, .error) }
        return logger
    }

    static func describe(_ error: any Error, doing what: String) -> any Error {
        if error is ConcordError { return error }
        if let transaction = error as? PostgresTransactionError {
            if let closure = transaction.closureError { return describe(closure, doing: what) }
            if let begin = transaction.beginError { return describe(begin, doing: what) }
            if let commit = transaction.commitError { return describe(commit, doing: what) }
        }
        if let failure = error as? PSQLError {
            if let message = failure.serverInfo?[.message] {
                let detail = failure.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return ConcordError(.storage, "cannot \(what): PostgreSQL says \(message)\(detail)", cause: failure)
            }
            let reason = failure.underlying.map { "\($0)" } ?? "\(failure.code)"
            return ConcordError(.storage, "cannot \(what): \(reason)", cause: failure)
        }
        return ConcordError(.storage, "cannot \(what): \(error)", cause: error)
    }
}

