import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// Found by the crash harness: while a server held the store open, commits from other processes
/// never checkpointed the WAL (a LIMIT 1 lookup left a statement open across COMMIT), so the WAL
/// grew with every import and the database file never did.
struct WALCheckpointTests {
    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }

    @Test func commitsCheckpointTheWALWhileAnotherConnectionHoldsTheStoreOpen() throws {
        let directory = try TemporaryDirectory("wal")
        let writer = try StoreFixtures.createStore(in: directory)
        let path = directory.file("node.sqlite")
        // Another connection, as a running server keeps, that has read and gone idle.
        let server = try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger)
        _ = try server.versionVector()
        let before = size(path)
        for round in 0..<8 {
            let drafts = try (0..<3000).map { try StoreFixtures.draft("notes:wal-\($0 % 50)", "note.added", data: .object(["text": .string("round \(round) note \($0) with a little text")])) }
            try writer.append(drafts)
        }
        // 24,000 events are several thousand WAL pages, well past the automatic checkpoint's
        // 1000: the database file itself must have grown, and the WAL must not hold them all.
        #expect(size(path) > before + 1_000_000, "the database file did not grow: \(before) -> \(size(path))")
        #expect(size(path + "-wal") < 10 * 1024 * 1024, "the WAL kept growing: \(size(path + "-wal")) bytes")
        #expect(try server.eventCount() == 24000)
    }
}
