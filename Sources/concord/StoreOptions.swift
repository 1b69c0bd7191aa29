import ArgumentParser
import ConcordCore
import ConcordPostgres
import ConcordProjections
import ConcordSQLite
import ConcordSyncProtocol
import Foundation
import Logging

/// `--store` and its relatives, shared by every command that opens a store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The node's store: a file, or a hub's PostgreSQL database (postgres://USER@HOST:PORT/DATABASE).",
            discussion: "Defaults to $CONCORD_STORE, else ./concord.sqlite. A file store's private key is kept beside it in PATH.key. A PostgreSQL store is a hub's (init --hub) and every command works on it but those of a region syncing out (sync, peer) and reseal (docs/postgres.md); its password may come from $PGPASSWORD.",
            valueName: "path|url"
        )
    )
    var store: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How hard each commit is pushed to disk: full (survives power loss) or normal (survives a killed process).",
            valueName: "level"
        )
    )
    var durability: SQLiteEventStore.Options.Durability = .full

    @Option(name: .long, help: ArgumentHelp("How much to report on standard error (warning by default; info and debug say more).", valueName: "level"))
    var logLevel: Logger.Level = .warning

    var storePath: String {
        if let store { return store }
        if let fromEnvironment = ProcessInfo.processInfo.environment["CONCORD_STORE"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "concord.sqlite"
    }

    var logger: Logger {
        var logger = Logger(label: "concord") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        return logger
    }

    var storeOptions: SQLiteEventStore.Options { .init(durability: durability) }

    /// Whether `--store` names a PostgreSQL database.
    var isPostgres: Bool { PostgresLocation.isURL(storePath) }

    var postgresLocation: PostgresLocation {
        get throws { try PostgresLocation(url: storePath, environment: ProcessInfo.processInfo.environment) }
    }

    /// The store as a person names it: the file's path, or the PostgreSQL URL without its password.
    var storeDescription: String {
        get throws { isPostgres ? try postgresLocation.description : storePath }
    }

    /// The backend holding the store, as `status --json` names it.
    var backendName: String { isPostgres ? "postgresql" : "sqlite" }

    /// The `--durability` in force (a setting of SQLite's commits), or nil on PostgreSQL.
    var durabilitySetting: String? { isPostgres ? nil : durability.rawValue }

    /// The SQLite store, for what only a region's file does: syncing out (`withSyncingStore`),
    /// `reseal`. On PostgreSQL they say so.
    /// `eventFormat` is the format new events are written in (1 only for benchmarks).
    func openStore(eventFormat: Int = 2) throws -> SQLiteEventStore {
        if isPostgres {
            throw ConcordError(.invalidArgument, """
                this command runs on a store file; a PostgreSQL store (\((try? postgresLocation)?.description ?? "postgres://…")) is a hub's, \
                which serves its peers and syncs out to none: every command runs on it but sync, peer and reseal (docs/postgres.md)
                """)
        }
        var options = storeOptions
        options.eventFormat = eventFormat
        return try SQLiteEventStore.open(at: storePath, options: options, logger: logger)
    }

    /// Refuses a store that is not a PostgreSQL database where an option must name one (the
    /// demo's `--hub-store`), saying what `otherwise` happens.
    func validateDatabase(named option: String, otherwise: String) throws {
        guard isPostgres else {
            throw ValidationError("\(option) is a PostgreSQL database (postgres://USER@HOST:PORT/DATABASE); \(otherwise)")
        }
    }

    /// Refuses what `init` cannot make on the backend `--store` names: a PostgreSQL store is a
    /// hub's (`--hub`); `--app-role` is a PostgreSQL role.
    func validateNewStore(hub: Bool, appRole: String?) throws {
        if isPostgres {
            guard hub else { throw ValidationError("a PostgreSQL store is a hub's: add --hub (regional nodes keep a store file)") }
        } else if appRole != nil {
            throw ValidationError("--app-role is for a PostgreSQL store (--store postgres://…)")
        }
    }

    /// Makes the node's store on the backend `--store` names (`concord init`), with what peers
    /// without rules receive when given; returns what to tell the person who ran it.
    ///
    /// A file store gets its key beside it; a PostgreSQL hub gets its signing key (for its
    /// checkpoints) at `hubKeyPath`, never in the database (one made for this database before is
    /// kept), and `appRole`, when given, the grants its processes need and no more.
    func createStore(nodeName: String, shareDefault: SharingPolicy.Default?, appRole: String?) async throws -> [String] {
        let receive = shareDefault.map { choice in
            "Peers without sharing rules of their own receive: \(choice == .full ? "every stream in full" : "only stubs (concord share add grants more)")"
        }
        if isPostgres {
            let location = try postgresLocation
            let (keyPath, made) = try makeHubKeyIfNone(nodeName: nodeName)
            let store = try await PostgresEventStore.create(location, nodeName: nodeName, logger: logger)
            try await store.restoreSharing(SharingSettings(rules: [], defaultRule: shareDefault ?? .full, localStreams: []))
            if let appRole { try await store.grantApplicationRole(appRole) }
            await store.close()
            return ["Created hub '\(nodeName)' in \(location)",
                    "Its checkpoints are signed with the key in \(keyPath)\(made ? "" : " (kept from before)"): give every process serving the hub a copy (mode 0600), or name it with $CONCORD_HUB_KEY_FILE"]
                + (receive.map { [$0] } ?? [])
                + (appRole.map { ["Role \($0) may add history but not change or remove it; serve with --store postgres://\($0)@\(location.host):\(location.port)/\(location.database)"] } ?? [])
        }
        let store = try SQLiteEventStore.create(at: storePath, nodeName: nodeName, options: storeOptions, logger: logger)
        if let shareDefault { try store.setShareDefault(shareDefault) }
        let info = try store.nodeInfo()
        return (receive.map { [$0] } ?? []) + [
            "Created node '\(info.name)' in \(store.path)",
            "origin  \(info.origin)",
            "key     \(store.path).key (keep it private)",
        ]
    }

    /// A new, empty store that records as a node of its own (`concord copy`'s target, the demo's
    /// nodes), on whichever backend `--store` names; the caller closes it.
    func createRecordingStore(nodeName: String) async throws -> any RecordingBackend & ReadModelReader {
        if isPostgres {
            // A new hub, as init --hub makes one: with a key of its own to sign its checkpoints,
            // never one found at the path (it may be the source hub's). The key is made once the
            // database holds the new store, so a refused copy leaves no key behind.
            try await { () async throws -> PostgresEventStore in
                let path = try hubKeyPath
                guard !FileManager.default.fileExists(atPath: path) else {
                    throw ConcordError(.storeExists, "a hub key file is already at \(path): the copy is a new hub and signs with a key of its own; move that file away, or name another path with $CONCORD_HUB_KEY_FILE")
                }
                let store = try await PostgresEventStore.create(try postgresLocation, nodeName: nodeName, logger: logger)
                try makeHubKeyIfNone(nodeName: nodeName)
                if let key = try NodeKeyFile.read(at: path) { store.useSigningKey(key) }
                return store
            }()
        } else {
            SQLiteSyncBackend(store: try SQLiteEventStore.create(at: storePath, nodeName: nodeName, options: storeOptions, logger: logger))
        }
    }

    /// How a person runs `sql` over the store's tables with the database's own shell.
    func sqlShellCommand(_ sql: String) throws -> String {
        isPostgres ? "psql \(try postgresLocation) -c \"\(sql)\"" : "sqlite3 \(storePath) \"\(sql)\""
    }

    /// Where a PostgreSQL hub's signing key is kept (`init --hub` makes it; every process serving
    /// the database reads it): `$CONCORD_HUB_KEY_FILE`, else
    /// `$XDG_CONFIG_HOME/concord/hubs/HOST-PORT-DATABASE.key` (`~/.config` when unset).
    var hubKeyPath: String {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            if let explicit = environment["CONCORD_HUB_KEY_FILE"], !explicit.isEmpty { return explicit }
            let location = try postgresLocation
            let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? ".") + "/.config")
            return "\(configHome)/concord/hubs/\(location.host)-\(location.port)-\(location.database).key"
        }
    }

    /// Makes the PostgreSQL hub's signing key in `hubKeyPath` (mode 0600, in a 0700 directory)
    /// unless one is there; says whether it made one.
    @discardableResult
    func makeHubKeyIfNone(nodeName: String) throws -> (path: String, made: Bool) {
        let path = try hubKeyPath
        guard try NodeKeyFile.read(at: path) == nil else { return (path, false) }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        try NodeKeyFile.write(NodeKey(), nodeName: nodeName, to: path)
        return (path, true)
    }

    /// The PostgreSQL hub `--store` names, signing its checkpoints with the key in `hubKeyPath`
    /// when that file exists (a hub without one keeps the checkpoints it is sent, signs none).
    func openPostgresHub() async throws -> PostgresEventStore {
        let key = try NodeKeyFile.read(at: try hubKeyPath)
        let store = try await PostgresEventStore.open(try postgresLocation, logger: logger)
        if let key { store.useSigningKey(key) }
        return store
    }

    /// The store for `concord serve`, whichever backend holds it, woken by commits of other
    /// processes (SQLite: its WAL watched; PostgreSQL: NOTIFY), and what closes it after.
    func openForServing() async throws -> (store: any HubBackend & ReadModelReader, close: @Sendable () async -> Void) {
        if isPostgres {
            let store = try await openPostgresHub()
            if store.checkpointSigner == nil {
                logger.warning("this hub process has no signing key: it keeps the checkpoints it is sent but signs none", metadata: ["looked for": "\((try? hubKeyPath) ?? "?")"])
            }
            return (store, { await store.close() })
        }
        let store = try openStore()
        let watcher = store.watchOtherProcesses()
        return (SQLiteSyncBackend(store: store), { watcher.stop() })
    }

    /// The store as a command that records sees it (`RecordingBackend`: a file node, or a
    /// PostgreSQL hub recording as its origin with the key in `hubKeyPath`), whichever backend
    /// holds it; closed after `body`.
    /// `eventFormat` is the format new events are written in (1 only for benchmarks, on a file).
    func withRecordingStore<T>(eventFormat: Int = 2, _ body: (any RecordingBackend & ReadModelReader) async throws -> T) async throws -> T {
        let store: any RecordingBackend & ReadModelReader = if isPostgres {
            try await { () async throws -> PostgresEventStore in
                guard eventFormat == 2 else { throw ConcordError(.invalidArgument, "a PostgreSQL hub writes events in format 2 only") }
                return try await openPostgresHub()
            }()
        } else {
            SQLiteSyncBackend(store: try openStore(eventFormat: eventFormat))
        }
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The store as `sync` and `peer` see it: a node that syncs out to peers of its own, which
    /// only a region's file is (a PostgreSQL hub is refused, saying so).
    func withSyncingStore<T>(_ body: (any SyncingBackend & ReadModelReader) async throws -> T) async throws -> T {
        try await body(SQLiteSyncBackend(store: try openStore()))
    }

    /// The store as `verify` reads it, changing no byte of it: a store file read-only (an older
    /// one on a migrated scratch copy, `OtherCopy.withStoreFile`), a PostgreSQL hub as `withHub`.
    func withStoreForVerifying<T>(_ body: (any HubBackend & ReadModelReader) async throws -> T) async throws -> T {
        if isPostgres { return try await withHub(body) }
        return try await OtherCopy.withStoreFile(storePath, logger: logger, body)
    }

    /// The store as a hub's commands see it (its log, sync, tokens, read models), whichever
    /// backend holds it; closed after `body`. (The same store `withRecordingStore` opens.)
    func withHub<T>(_ body: (any HubBackend & ReadModelReader) async throws -> T) async throws -> T {
        try await withRecordingStore { try await body($0) }
    }
}

/// A copy of a record as `concord verify` reads it, changing no byte of it: a store file opened
/// read-only (or, when its schema is older than this build's, a scratch copy of it migrated), or
/// an export or audit bundle loaded into a scratch store (verified as any import is) that is
/// removed after.
enum OtherCopy {
    static func withStore<T>(_ path: String, logger: Logger, _ body: (any HubBackend & ReadModelReader) async throws -> T) async throws -> T {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConcordError(.invalidArgument, "\(path): no such file to check")
        }
        if isStoreFile(path) { return try await withStoreFile(path, logger: logger, body) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-against-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteEventStore.create(at: directory + "/copy.sqlite", nodeName: "other-copy", logger: logger)
        let batch = try ImportCommand.readExport(path)
        do {
            try store.ingest(batch, source: "verify --against", policy: .allOrNothing)
            try store.catchUpProjections()
        } catch let error as ConcordError {
            throw ConcordError(error.code, "\(path) does not load as a copy: \(error.message)", cause: error)
        }
        return try await body(SQLiteSyncBackend(store: store))
    }

    /// A store file, read-only; or, when an older release wrote it, a scratch copy migrated and
    /// caught up as this release's first open would (its read models are then this release's
    /// fold of its log: an older release's are not comparable).
    static func withStoreFile<T>(_ path: String, logger: Logger, _ body: (any HubBackend & ReadModelReader) async throws -> T) async throws -> T {
        if let store = try SQLiteEventStore.openReadOnly(at: path, logger: logger) {
            return try await body(SQLiteSyncBackend(store: store))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-verify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Its WAL too, which holds its newest commits.
        let copy = directory + "/copy.sqlite"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        if FileManager.default.fileExists(atPath: path + "-wal") { try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal") }
        let store = try SQLiteEventStore.open(at: copy, logger: logger)
        if let version = try store.projectionStatus().version, version != ReadModelSchema.version { try store.catchUpProjections() }
        return try await body(SQLiteSyncBackend(store: store))
    }

    /// SQLite files begin with these 16 bytes.
    static func isStoreFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\0".utf8)
    }
}

/// What an insider holding a copy of a node's store file could do, as the demo shows `verify`
/// catching it: copy the file (consistently, WAL and all) and run SQL on the copy, the
/// append-only guards dropped first if the statements say so.
enum InsiderEdit {
    static func editedCopy(of source: String, to copy: String, _ statements: [String]) throws {
        let original = try SQLiteConnection(path: source, flags: [.readOnly])
        try original.prepare("VACUUM INTO ?").run([.text(copy)])
        let connection = try SQLiteConnection(path: copy, flags: [.readWrite])
        for statement in statements { try connection.execute(statement) }
    }
}

extension SQLiteEventStore.Options.Durability: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Files the CLI writes for a person to keep (exports, issued tokens): created with mode 0600,
/// never over an existing file unless asked.
enum PrivateOutput {
    static func create(_ path: String, force: Bool) throws -> FileHandle {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw ConcordError(.storeExists, "\(path) already exists; choose another file, or add --force to replace it")
            }
            throw ConcordError(.storage, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        // An existing file replaced with --force keeps its old mode otherwise.
        fchmod(fd, 0o600)
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }
}
