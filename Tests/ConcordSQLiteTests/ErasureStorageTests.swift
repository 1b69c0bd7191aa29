import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// Erasure in one store: the openings go in the erasure's transaction, every copy of their bytes
/// leaves the files, and a scrub a reader held up (or a kill interrupted) is finished at the next
/// open.
struct ErasureStorageTests {
    func bytes(_ path: String) -> Data {
        ["", "-wal"].reduce(into: Data()) { all, suffix in all += FileManager.default.contents(atPath: path + suffix) ?? Data() }
    }

    func noteAndErase(_ store: SQLiteEventStore, marker: String) throws -> [EventID] {
        let notes = try store.append([
            try StoreFixtures.draft("case:ER-1", "case.note-added", data: .object(["note": .string("\(marker) in a note")])),
            try StoreFixtures.draft("case:ER-1", "case.note-added", data: .object(["note": .string(String(repeating: "\(marker) at length. ", count: 400))])),
        ]).events.map(\.event.id)
        let draft = try Erasure(targets: notes, reason: "test").draft(actor: "dpo", occurredAt: 0, origin: try store.origin)
        try store.append([draft])
        return notes
    }

    @Test func anErasureDestroysTheOpeningsAndLeavesNoCopyInTheFiles() throws {
        let directory = try TemporaryDirectory("erasure")
        let store = try StoreFixtures.createStore(in: directory)
        let path = directory.file("node.sqlite")
        let marker = "Marker-\(UInt64.random(in: 0...UInt64.max))"
        let erased = try noteAndErase(store, marker: marker)
        for id in erased {
            let event = try #require(try store.readOrigin(id.origin, afterSeq: id.seq - 1, limit: 1).first?.event)
            #expect(event.disclosure == .erased && event.payload == "{}" && event.actor.isEmpty && event.salt.isEmpty)
            #expect(event.computeHash() == event.hash)
        }
        #expect(try LogVerifier.verify(store).isValid)
        #expect(bytes(path).range(of: Data(marker.utf8)) == nil)
        // No other SQLite client may blank or change an opening outside an erasure's shape.
        let raw = try SQLiteConnection(path: path, flags: [.readWrite])
        #expect(throws: (any Error).self) { try raw.execute("UPDATE events SET data = '{\"x\":1}' WHERE disclosure = 2") }
        #expect(throws: (any Error).self) { try raw.execute("UPDATE events SET data = '{}' WHERE disclosure = 0") }
    }

    @Test func aScrubHeldUpByAReaderIsFinishedAtTheNextOpen() throws {
        let directory = try TemporaryDirectory("erasure-pending")
        let path = directory.file("node.sqlite")
        let marker = "Marker-\(UInt64.random(in: 0...UInt64.max))"
        do {
            let store = try StoreFixtures.createStore(in: directory)
            // Another process's read transaction keeps the WAL from being truncated.
            let reader = try SQLiteConnection(path: path, flags: [.readWrite])
            try store.append([try StoreFixtures.draft("case:ER-0", "case.note-added", data: .object(["note": .string("before")]))])
            try reader.execute("BEGIN")
            _ = try reader.scalarInt("SELECT count(*) FROM events")
            _ = try noteAndErase(store, marker: marker)
            #expect(try store.withConnection("read") { try $0.connection.scalarText("SELECT value FROM settings WHERE name = 'scrub_pending'") } == "1")
            #expect(bytes(path).range(of: Data(marker.utf8)) != nil, "the held-up WAL should still hold the erased bytes")
            try reader.execute("ROLLBACK")
        }
        // The next open finishes the scrub.
        let reopened = try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger)
        #expect(bytes(path).range(of: Data(marker.utf8)) == nil)
        #expect(try reopened.withConnection("read") { try $0.connection.scalarText("SELECT value FROM settings WHERE name = 'scrub_pending'") } == nil)
        #expect(try LogVerifier.verify(reopened).isValid)
    }
}
