import ConcordCore
import ConcordSQLite
import ConcordTestSupport
import Testing

struct ConcurrencyAndOrderingTests {
    @Test func anUnexpectedVersionIsRefusedAndStoresNothing() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        let stream = try StreamID("case:WY-2016-0012")
        try store.append([StoreFixtures.draft(stream.rawValue)], expecting: [stream: .noStream])
        try store.append([StoreFixtures.draft(stream.rawValue)], expecting: [stream: .exactly(1)])
        let error = #expect(throws: ConcordError.self) {
            try store.append([StoreFixtures.draft(stream.rawValue), StoreFixtures.draft("case:other")], expecting: [stream: .exactly(1)])
        }
        #expect(error?.code == .wrongExpectedVersion)
        #expect(error?.message.contains("is at version 2, but version 1 was expected") == true)
        #expect(throws: ConcordError.self) { try store.append([StoreFixtures.draft(stream.rawValue)], expecting: [stream: .noStream]) }
        #expect(try store.eventCount() == 2)
        #expect(try store.streamVersion(of: StreamID("case:other")) == 0)
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func originSequencesAreGapFreeAcrossCommitsAndStores() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft()])
        try store.append((1...5).map { _ in try StoreFixtures.draft() })
        // A failed commit must not consume seqs.
        _ = try? store.append([StoreFixtures.draft()], expecting: [StreamID("case:x"): .exactly(9)])
        // A second handle on the same file continues the same run.
        let second = try SQLiteEventStore.open(at: store.path, logger: StoreFixtures.quietLogger)
        try second.append([StoreFixtures.draft()])
        try store.append([StoreFixtures.draft()])
        let seqs = try store.readOrigin(store.origin, afterSeq: 0, limit: 100).map(\.event.seq)
        #expect(seqs == Array(1...8))
    }

    @Test func concurrentWritersInterleaveWithoutGapsOrDuplicates() async throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for _ in 0..<25 { try store.append([StoreFixtures.draft("case:writer-\(writer)")]) }
                }
            }
            try await group.waitForAll()
        }
        let seqs = try store.readOrigin(store.origin, afterSeq: 0, limit: 1000).map(\.event.seq)
        #expect(seqs == Array(1...100))
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func theVersionVectorIsTheHighestSeqPerOrigin() throws {
        let directory = try TemporaryDirectory()
        let store = try StoreFixtures.createStore(in: directory)
        #expect(try store.versionVector() == VersionVector())
        try store.append((1...7).map { _ in try StoreFixtures.draft() })
        let origin = try store.origin
        #expect(try store.versionVector() == VersionVector([origin: 7]))
        try store.append([StoreFixtures.draft()])
        let vector = try store.versionVector()
        #expect(vector[origin] == 8)
        #expect(vector.eventCount == 8)
        #expect(vector.includes(VersionVector([origin: 3])))
        #expect(!VersionVector([origin: 3]).includes(vector))
    }
}
