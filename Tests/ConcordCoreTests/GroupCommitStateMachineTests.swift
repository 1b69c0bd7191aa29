import ConcordCore
import Testing

/// Group-commit leadership without threads or tasks: each step's action, as the store carries
/// them out.
struct GroupCommitStateMachineTests {
    typealias Machine = GroupCommitStateMachine<String>

    @Test func theFirstArrivalLeadsAndTheOthersWaitToBeCommittedTogether() {
        var machine = Machine()
        #expect(machine.arrive("a", waiting: .thread) == .lead)
        #expect(machine.arrive("b", waiting: .task) == .wait)
        #expect(machine.arrive("c", waiting: .thread) == .wait)
        let taken = machine.takeQueued()
        #expect(taken.map(\.appender) == ["a", "b", "c"])
        // Arriving while the leader commits: the next group.
        #expect(machine.arrive("d", waiting: .task) == .wait)
        let finished = machine.finishLeading(taken)
        // The leader is not woken (it is running); b and c are, each its own way.
        #expect(finished.wake.map(\.appender) == ["b", "c"] && finished.wake.map(\.waiting) == [.task, .thread])
        // d is a task: it cannot look for itself, so it is given the lead.
        #expect(finished.next == .resumeTaskToLead("d") && machine.leading)
        #expect(machine.takeQueued().map(\.appender) == ["d"])
    }

    @Test func aWaitingThreadIsPreferredAndTakesTheLeadItselfUnlessANewcomerDoes() {
        var machine = Machine()
        _ = machine.arrive("leader", waiting: .task)
        let first = machine.takeQueued()
        _ = machine.arrive("task", waiting: .task)
        _ = machine.arrive("thread", waiting: .thread)
        let finished = machine.finishLeading(first)
        #expect(finished.next == .signalThread("thread"), "a thread needs no pool thread to run")
        #expect(!machine.leading, "the lead stays free until the thread takes it")
        // A newcomer arrives before the signalled thread wakes: it leads, and commits the others.
        #expect(machine.arrive("newcomer", waiting: .thread) == .lead)
        #expect(machine.threadWoke("thread") == .wait)
        let second = machine.takeQueued()
        #expect(second.map(\.appender) == ["task", "thread", "newcomer"])
        let done = machine.finishLeading(second)
        #expect(done.wake.map(\.appender) == ["task", "thread"] && done.next == nil && !machine.leading)
    }

    @Test func aThreadThatTakesTheLeadIsNotWokenByItsOwnCommit() {
        var machine = Machine()
        _ = machine.arrive("leader", waiting: .thread)
        let first = machine.takeQueued()
        _ = machine.arrive("thread", waiting: .thread)
        #expect(machine.finishLeading(first).next == .signalThread("thread"))
        #expect(machine.threadWoke("thread") == .lead)
        let second = machine.takeQueued()
        #expect(machine.finishLeading(second).wake.isEmpty)
    }

    @Test func withNobodyQueuedTheLeadIsFree() {
        var machine = Machine()
        #expect(machine.arrive("a", waiting: .task) == .lead)
        let finished = machine.finishLeading(machine.takeQueued())
        #expect(finished.wake.isEmpty && finished.next == nil && !machine.leading)
        #expect(machine.arrive("b", waiting: .task) == .lead)
    }
}
