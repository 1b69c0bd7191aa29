import ConcordCore
import ConcordSQLite
import Foundation
import Logging

/// Another copy of a record, for `verify --against`: a store file as it is, or an export or
/// audit bundle loaded into a scratch store (verified as any import is) that is removed after.
enum OtherCopy {
    static func withStore<T>(_ path: String, logger: Logger, _ body: (SQLiteEventStore) async throws -> T) async throws -> T {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConcordError(.invalidArgument, "\(path): no such file to compare with")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-against-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        if isStoreFile(path) {
            // Opening a store may migrate it or move its tokens out: done on a scratch copy, so
            // that the evidence is left as it was (its WAL too, which holds its newest commits).
            let copy = directory + "/copy.sqlite"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            if FileManager.default.fileExists(atPath: path + "-wal") { try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal") }
            return try await body(try SQLiteEventStore.open(at: copy, logger: logger))
        }
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

    /// SQLite files begin with these 16 bytes.
    static func isStoreFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\0".utf8)
    }
}
