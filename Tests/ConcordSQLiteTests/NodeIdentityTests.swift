import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

struct NodeIdentityTests {
    @Test func creatingAStoreMakesAPrivateKeyFileAndRecordsItsPublicKey() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let keyPath = store.path + ".key"
        let keyMode = try #require(try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int)
        let storeMode = try #require(try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int)
        #expect(keyMode == 0o600)
        #expect(storeMode == 0o600)
        let key = try #require(try NodeKeyFile.read(at: keyPath))
        #expect(key.origin == (try store.origin))
        #expect(try store.originKeys() == [OriginKey(origin: key.origin, publicKey: key.publicKey)])
        #expect(try store.identityStatus() == .current)
    }

    @Test func aCopiedStoreWritesAsANewOriginAndNeverReusesSeqs() throws {
        let directory = try TemporaryDirectory()
        let original = try StoreFixtures.createStore(in: directory)
        try original.append((1...3).map { _ in try StoreFixtures.draft() })
        let originalOrigin = try original.origin
        // A backup restored beside the live store, key file and all.
        try original.backup(to: directory.file("restored.sqlite"))
        try FileManager.default.copyItem(atPath: original.path + ".key", toPath: directory.file("restored.sqlite.key"))
        let restored = try SQLiteEventStore.open(at: directory.file("restored.sqlite"), logger: StoreFixtures.quietLogger)
        guard case .willStartNewIncarnation(let reason) = try restored.identityStatus() else {
            Issue.record("a restored store must not keep writing as the live origin")
            return
        }
        #expect(reason.contains("copied or restored"))
        let written = try restored.append([StoreFixtures.draft()]).events[0].event
        try original.append([StoreFixtures.draft()])
        #expect(written.origin != originalOrigin)
        #expect(written.seq == 1)
        #expect(try restored.versionVector() == VersionVector([originalOrigin: 3, written.origin: 1]))
        #expect(try restored.incarnations().map(\.origin) .contains(written.origin))
        #expect(try LogVerifier.verify(restored).isValid)
        #expect(try original.origin == originalOrigin)
    }

    @Test func aMissingKeyFileStartsANewOriginOnTheNextWrite() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft()])
        let first = try store.origin
        try FileManager.default.removeItem(atPath: store.path + ".key")
        let reopened = try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger)
        let event = try reopened.append([StoreFixtures.draft()]).events[0].event
        #expect(event.origin != first)
        #expect(try reopened.incarnations().count == 2)
        #expect(try LogVerifier.verify(reopened).isValid)
    }

    @Test func aKeyFileReadableByOthersIsRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: store.path + ".key")
        let reopened = try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger)
        let error = #expect(throws: ConcordError.self) { try reopened.append([StoreFixtures.draft()]) }
        #expect(error?.code == .nodeKey)
        #expect(error?.message.contains("chmod 600") == true)
        #expect(try reopened.eventCount() == 0)
    }

    @Test func twoWritersOnARestoredStoreStartOneNewIncarnationBetweenThem() throws {
        let directory = try TemporaryDirectory()
        let original = try StoreFixtures.createStore(in: directory)
        try original.append([StoreFixtures.draft()])
        try original.backup(to: directory.file("restored.sqlite"))
        try FileManager.default.copyItem(atPath: original.path + ".key", toPath: directory.file("restored.sqlite.key"))
        // Two processes' connections on the restored file, each about to write for the first time.
        for round in 0..<10 {
            let path = directory.file("restored-\(round).sqlite")
            try FileManager.default.copyItem(atPath: directory.file("restored.sqlite"), toPath: path)
            try FileManager.default.copyItem(atPath: directory.file("restored.sqlite.key"), toPath: path + ".key")
            let writers = try (0..<2).map { _ in try SQLiteEventStore.open(at: path, options: .init(durability: .normal), logger: StoreFixtures.quietLogger) }
            let group = DispatchGroup()
            let failures = Failures()
            for writer in writers {
                group.enter()
                Thread.detachNewThread {
                    do { try writer.append([StoreFixtures.draft()]) } catch { failures.add("\(error)") }
                    group.leave()
                }
            }
            group.wait()
            #expect(failures.all.isEmpty, "round \(round): \(failures.all)")
            let check = try SQLiteEventStore.open(at: path, logger: StoreFixtures.quietLogger)
            // The original origin and exactly one new one, whose key is in the key file.
            #expect(try check.incarnations().count == 2, "round \(round)")
            let key = try #require(try NodeKeyFile.read(at: path + ".key"))
            #expect(key.origin == (try check.origin), "round \(round)")
            #expect(try check.versionVector()[key.origin] == 2, "round \(round): both writes as the one new origin")
            #expect(try LogVerifier.verify(check).isValid)
        }
    }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ failure: String) { lock.withLock { list.append(failure) } }
    var all: [String] { lock.withLock { list } }
}
