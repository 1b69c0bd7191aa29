import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

struct OpeningStoresTests {
    @Test func openingAMissingStoreFailsAndCreatesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("absent.sqlite")
        let error = #expect(throws: ConcordError.self) { try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger) }
        #expect(error?.code == .storeNotFound)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aFileThatIsNotSQLiteIsNotAStoreAndIsLeftAlone() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notes.txt")
        let content = Data("minutes of the meeting, not a database\n".utf8)
        try content.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ConcordError.self) { try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger) }
        #expect(error?.code == .notAConcordStore)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
    }

    @Test func anotherSQLiteDatabaseIsNotAStoreAndIsLeftAlone() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("other.sqlite")
        do {
            let other = try SQLiteConnection(path: path, flags: [.readWrite, .create])
            try other.execute("CREATE TABLE people (name TEXT)")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = #expect(throws: ConcordError.self) { try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger) }
        #expect(error?.code == .notAConcordStore)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func creatingOverAnExistingStoreIsRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft()])
        let error = #expect(throws: ConcordError.self) { try StoreFixtures.createStore(in: directory) }
        #expect(error?.code == .storeExists)
        #expect(try store.eventCount() == 1)
    }

    @Test func migrationsAreRecordedByNameAndAStoreFromANewerBuildIsRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        let names = try raw.prepare("SELECT name FROM schema_migrations ORDER BY name")
        var applied: [String] = []
        while try names.step() { applied.append(names.text(0)) }
        #expect(applied == SQLiteEventStore.migrations.map(\.name))
        try raw.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999-from-the-future', 0)")
        let error = #expect(throws: ConcordError.self) { try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger) }
        #expect(error?.code == .storeTooNew)
    }

    @Test func theStoreUsesWALAndPassesSQLitesIntegrityCheck() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft()])
        let raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
        let mode = try raw.prepare("PRAGMA journal_mode")
        #expect(try mode.step())
        #expect(mode.text(0) == "wal")
        #expect(try store.integrityCheck() == "ok")
    }
}
