import ConcordCore
import ConcordProjections
import ConcordSQLite
import Foundation
import Logging

/// A copy of a record as `concord verify` reads it, changing no byte of it: a store file opened
/// read-only (or, when its schema is older than this build's, a scratch copy of it migrated), or
/// an export or audit bundle loaded into a scratch store (verified as any import is) that is
/// removed after.
enum OtherCopy {
    static func withStore<T>(_ path: String, logger: Logger, _ body: (SQLiteEventStore) async throws -> T) async throws -> T {
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
        return try await body(store)
    }

    /// A store file, read-only; or, when an older release wrote it, a scratch copy migrated and
    /// caught up as this release's first open would (its read models are then this release's
    /// fold of its log: an older release's are not comparable).
    static func withStoreFile<T>(_ path: String, logger: Logger, _ body: (SQLiteEventStore) async throws -> T) async throws -> T {
        if let store = try SQLiteEventStore.openReadOnly(at: path, logger: logger) {
            return try await body(store)
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
        return try await body(store)
    }

    /// SQLite files begin with these 16 bytes.
    static func isStoreFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\0".utf8)
    }
}
