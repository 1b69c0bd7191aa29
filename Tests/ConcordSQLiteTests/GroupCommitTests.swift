import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// Appends made while another commit holds the store are committed together, in one
/// transaction under one seal, each with its own expected-version check.
struct GroupCommitTests {
    /// Starts one thread per request, each calling `append`, while the test holds the store's
    /// connection lock, each once the one before has queued its request; releases the lock once
    /// all are queued, so the first thread commits them all as one group, in the order given.
    /// Returns each request's outcome, in request order.
    func appendAsOneGroup(
        _ store: SQLiteEventStore, _ requests: [(drafts: [EventDraft], expecting: [StreamID: ExpectedVersion])]
    ) -> [Result<AppendResult, any Error>] {
        let outcomes = Outcomes(count: requests.count)
        store.state.withLock { _ in
            for (index, request) in requests.enumerated() {
                Thread {
                    outcomes.set(index, Result { try store.append(request.drafts, expecting: request.expecting) })
                }.start()
                // One at a time, so the queue (and the group) holds them in the order given.
                while store.pendingAppends.count < index + 1 { sched_yield() }
            }
        }
        return outcomes.waitForAll()
    }

    @Test func concurrentAppendsShareOneTransactionAndOneSeal() throws {
        let directory = try TemporaryDirectory("group")
        let store = try StoreFixtures.createStore(in: directory)
        try store.append([StoreFixtures.draft("case:first")])
        let sealsBefore = try store.seals(of: store.origin).count

        let requests = try (1...8).map { writer in
            (drafts: try (1...3).map { _ in try StoreFixtures.draft("case:writer-\(writer)") }, expecting: [StreamID: ExpectedVersion]())
        }
        let results = try appendAsOneGroup(store, requests).map { try $0.get() }

        #expect(try store.eventCount() == 1 + 8 * 3)
        // One seal for the whole group, over its last event, returned to every writer.
        let seals = try store.seals(of: store.origin)
        #expect(seals.count == sealsBefore + 1)
        #expect(Set(results.map(\.seal.seq)) == [UInt64(1 + 8 * 3)])
        // Each writer's events are its own, consecutive in its stream, and gap-free in the origin.
        for (index, result) in results.enumerated() {
            #expect(result.events.map(\.event.stream.rawValue) == Array(repeating: "case:writer-\(index + 1)", count: 3))
            #expect(result.events.map(\.streamVersion) == [1, 2, 3])
        }
        let seqs = results.flatMap { $0.events.map(\.event.seq) }.sorted()
        #expect(seqs == Array(2...25))
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func concurrentTasksWaitSuspendedAndShareOneCommit() async throws {
        // The test and its tasks run on one thread of their own, not the cooperative pool, which
        // other suites' blocking waits on `concord` processes may hold for minutes; with a single
        // thread, a task that blocked it instead of suspending would also stall every other.
        let executor = ThreadExecutor()
        defer { executor.stop() }
        try await withTaskExecutorPreference(executor) { try await tasksShareOneCommit() }
    }

    private func tasksShareOneCommit() async throws {
        let directory = try TemporaryDirectory("group")
        let store = try StoreFixtures.createStore(in: directory)
        try await store.append([StoreFixtures.draft("case:first")])
        let sealsBefore = try store.seals(of: store.origin).count
        let writers = 8

        // A thread's append takes the lead and waits for the connection, which another thread
        // holds until the tasks' appends are queued behind it: the tasks then wait suspended
        // (no pool thread blocked), and the leading thread commits all of them in one group.
        let held = HeldConnection(store, until: writers + 1, leaderDraft: try StoreFixtures.draft("case:thread"))
        await held.leaderIsQueued()
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for writer in 1...writers {
                group.addTask { try await store.append([StoreFixtures.draft("case:task-\(writer)")]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let leader = try await held.leaderResult().get()

        #expect(results.count == writers)
        #expect(try store.seals(of: store.origin).count == sealsBefore + 1)
        #expect(Set((results + [leader]).map(\.seal.seq)) == [UInt64(1 + writers + 1)])
        #expect(Set(results.map { $0.events[0].event.stream.rawValue }).count == writers)
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func aWrongExpectedVersionRefusesOnlyItsOwnAppend() throws {
        let directory = try TemporaryDirectory("group")
        let store = try StoreFixtures.createStore(in: directory)
        let shared = try StreamID("case:shared")
        try store.append([StoreFixtures.draft(shared.rawValue)])

        let outcomes = appendAsOneGroup(store, [
            (drafts: [try StoreFixtures.draft(shared.rawValue)], expecting: [shared: .exactly(1)]),
            // Expects version 1 too, but the append before it in the group moved the stream to 2.
            (drafts: [try StoreFixtures.draft(shared.rawValue)], expecting: [shared: .exactly(1)]),
            (drafts: [try StoreFixtures.draft("case:other")], expecting: [try StreamID("case:other"): .noStream]),
        ])

        #expect(try outcomes[0].get().events.map(\.streamVersion) == [2])
        #expect(throws: ConcordError.self) { try outcomes[1].get() }
        if case .failure(let error as ConcordError) = outcomes[1] {
            #expect(error.code == .wrongExpectedVersion)
            #expect(error.message.contains("is at version 2, but version 1 was expected"))
        }
        #expect(try outcomes[2].get().events.count == 1)
        #expect(try store.streamVersion(of: shared) == 2)
        #expect(try store.eventCount() == 3)
        #expect(try LogVerifier.verify(store).isValid)
    }

    @Test func aGroupThatStoresNothingWritesNoSeal() throws {
        let directory = try TemporaryDirectory("group")
        let store = try StoreFixtures.createStore(in: directory)
        let stream = try StreamID("case:x")
        let outcomes = appendAsOneGroup(store, [
            (drafts: [try StoreFixtures.draft(stream.rawValue)], expecting: [stream: .exactly(5)]),
            (drafts: [try StoreFixtures.draft(stream.rawValue)], expecting: [stream: .exactly(7)]),
        ])
        for outcome in outcomes { #expect(throws: ConcordError.self) { try outcome.get() } }
        #expect(try store.eventCount() == 0)
        #expect(try store.seals(of: store.origin).isEmpty)
        // The next append starts the origin at seq 1.
        #expect(try store.append([StoreFixtures.draft(stream.rawValue)]).events[0].event.seq == 1)
    }
}

/// Results set by writer threads, waited for by the test.
private final class Outcomes: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [Result<AppendResult, any Error>?]

    init(count: Int) {
        results = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ result: Result<AppendResult, any Error>) {
        condition.withLock {
            results[index] = result
            condition.broadcast()
        }
    }

    func waitForAll() -> [Result<AppendResult, any Error>] {
        condition.withLock {
            while results.contains(where: { $0 == nil }) { condition.wait() }
            return results.map { $0! }
        }
    }
}

/// Holds a store's connection lock on a thread of its own; meanwhile another thread appends
/// `leaderDraft`, takes the lead and waits for the connection. Lets go once `count` appends in all
/// are queued (or after 120 s, so a test cannot hang: it then fails on its group).
private final class HeldConnection: @unchecked Sendable {
    private let condition = NSCondition()
    private var leaderQueued = false
    private var leader: Result<AppendResult, any Error>?

    init(_ store: SQLiteEventStore, until count: Int, leaderDraft: EventDraft) {
        Thread {
            store.state.withLock { _ in
                Thread {
                    let result = Result { try store.append([leaderDraft]) }
                    self.condition.withLock {
                        self.leader = result
                        self.condition.broadcast()
                    }
                }.start()
                while store.pendingAppends.count < 1 { sched_yield() }
                self.condition.withLock {
                    self.leaderQueued = true
                    self.condition.broadcast()
                }
                let deadline = ContinuousClock.now + .seconds(120)
                while store.pendingAppends.count < count, ContinuousClock.now < deadline { sched_yield() }
            }
        }.start()
    }

    /// Returns once the leading thread's append is queued (and so holds the lead).
    func leaderIsQueued() async {
        await wait { self.leaderQueued }
    }

    func leaderResult() async -> Result<AppendResult, any Error> {
        await wait { self.leader != nil }
        return condition.withLock { leader! }
    }

    /// Waits on a thread of its own, not on the test's.
    private func wait(until ready: @escaping @Sendable () -> Bool) async {
        await withCheckedContinuation { continuation in
            Thread {
                self.condition.withLock { while !ready() { self.condition.wait() } }
                continuation.resume()
            }.start()
        }
    }
}

/// Runs the jobs of the tasks that prefer it on one thread of its own, in order, until stopped.
private final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init() {
        Thread { [self] in
            while let job = next() { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }.start()
    }

    private func next() -> UnownedJob? {
        condition.withLock {
            while jobs.isEmpty, !stopped { condition.wait() }
            return jobs.isEmpty ? nil : jobs.removeFirst()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// Ends the thread once the jobs queued are run.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }
}
