import ConcordCore
import ConcordSyncProtocol
import Testing

struct SyncSessionTests {
    let a = OriginID(publicKey: [1])
    let b = OriginID(publicKey: [2])
    let budget = BatchBudget(maxEvents: 100, maxBytes: 1 << 20)

    func end(more: Bool, _ vector: VersionVector, heads: [OriginID: EventHash] = [:], setAside: [SyncWire.Refusal] = [], limits: SyncWire.Limits? = nil) -> SyncWire.BatchEnd {
        SyncWire.BatchEnd(more: more, vector: vector, heads: heads, setAside: setAside, limits: limits)
    }

    func pullRequest(_ have: VersionVector, exclude: Set<OriginID> = []) -> SyncSession.Action {
        .pull(SyncWire.PullRequest(have: have, exclude: exclude, maxEvents: budget.maxEvents, maxBytes: budget.maxBytes))
    }

    @Test func pullsUntilThePeerHasNoMoreThenPushesWhatItLacksWithinItsLimits() {
        var session = SyncSession(mode: .pullThenPush, budget: budget)
        var local = VersionVector([a: 5])
        #expect(session.start(local: local) == pullRequest(local))
        local[b] = 100
        let remote = VersionVector([b: 150])
        #expect(session.pulled(received: 100, result: IngestResult(inserted: 100, alreadyHeld: 0), end: end(more: true, remote), local: local) == pullRequest(local))
        local[b] = 150
        // The peer lacks a's 5 events: push them, starting from what the peer has, within the
        // smaller of this node's budget and the peer's advertised limits.
        let peerLimits = SyncWire.Limits(maxEvents: 40, maxBytes: 4 << 20, maxBodyBytes: 4 << 20, maxInflateRatio: 100, ratioFloorBytes: 1 << 20)
        let push = session.pulled(received: 50, result: IngestResult(inserted: 50, alreadyHeld: 0), end: end(more: false, remote, limits: peerLimits), local: local)
        #expect(push == .push(have: remote, exclude: [], proofRuns: [:], budget: BatchBudget(maxEvents: 40, maxBytes: 1 << 20)))
        let after = SyncWire.PushResult(accepted: 5, alreadyHeld: 0, vector: VersionVector([a: 5, b: 150]))
        guard case .done(let summary) = session.pushed(sent: 5, result: after, local: local) else {
            Issue.record("the session should be done")
            return
        }
        #expect(summary.pulled == 150 && summary.pushed == 5 && summary.requests == 3 && summary.setAside.isEmpty)
    }

    @Test func aSecondSyncWithNothingMissingTransfersNothing() {
        var session = SyncSession(budget: budget)
        let both = VersionVector([a: 5, b: 7])
        _ = session.start(local: both)
        guard case .done(let summary) = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: false, both), local: both) else {
            Issue.record("nothing to push: the session should be done")
            return
        }
        #expect(summary.pulled == 0 && summary.pushed == 0 && summary.requests == 1)
    }

    @Test func aPeerThatClaimsMoreButSendsNothingEndsTheSession() {
        var session = SyncSession(budget: budget)
        _ = session.start(local: VersionVector())
        guard case .failed = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: true, VersionVector([a: 9])), local: VersionVector()) else {
            Issue.record("must not loop forever")
            return
        }
    }

    @Test func aPeerThatAcceptsNothingEndsTheSession() {
        var session = SyncSession(mode: .pushOnly, budget: budget)
        #expect(session.start(local: VersionVector([a: 3])) == .fetchRemoteVector)
        #expect(session.receivedRemoteVector(VersionVector(), local: VersionVector([a: 3])) == .push(have: VersionVector(), exclude: [], proofRuns: [:], budget: budget))
        guard case .failed = session.pushed(sent: 3, result: .init(accepted: 0, alreadyHeld: 0, vector: VersionVector()), local: VersionVector([a: 3])) else {
            Issue.record("must not loop forever")
            return
        }
    }

    @Test func pullOnlyNeverPushes() {
        var session = SyncSession(mode: .pullOnly, budget: budget)
        _ = session.start(local: VersionVector([a: 3]))
        guard case .done = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: false, VersionVector()), local: VersionVector([a: 3])) else {
            Issue.record("pull-only must finish after pulling")
            return
        }
    }

    @Test func anOriginRefusedHereIsExcludedFromLaterPullsAndPushesWhileTheOthersGoOn() {
        var session = SyncSession(budget: budget)
        let local = VersionVector([a: 2])
        _ = session.start(local: local)
        // The pull brought b's events, which this node refused (their clock is far ahead), and more is waiting.
        let refusal = OriginRefusal(origin: b, code: .clockAhead, message: "ahead")
        let next = session.pulled(received: 10, result: IngestResult(inserted: 0, alreadyHeld: 0, refused: [refusal]), end: end(more: true, VersionVector([b: 20])), local: local)
        #expect(next == pullRequest(local, exclude: [b]))
        guard case .push(_, let exclude, _, _) = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: false, VersionVector([b: 20])), local: VersionVector([a: 2, b: 3])) else {
            Issue.record("a's events are still to be pushed")
            return
        }
        #expect(exclude == [b])
        guard case .done(let summary) = session.pushed(sent: 2, result: .init(accepted: 2, alreadyHeld: 0, vector: VersionVector([a: 2, b: 20])), local: VersionVector([a: 2, b: 3])) else {
            Issue.record("b is set aside: nothing is left to push")
            return
        }
        #expect(summary.setAside.map(\.origin) == [b] && summary.setAside.first?.code == "clock-ahead")
    }

    @Test func aForkFoundHereSendsOurSideOnceThenSetsTheOriginAside() {
        var session = SyncSession(budget: budget)
        let local = VersionVector([a: 4])
        _ = session.start(local: local)
        let proof = ForkProof(origin: a, seq: 4, heldHash: EventHash.sha256([1]), events: [], seal: Seal(origin: a, seq: 4, hash: EventHash.sha256([2]), signature: []))
        let refusal = OriginRefusal(origin: a, code: .fork, message: "fork", proof: proof)
        let push = session.pulled(received: 1, result: IngestResult(inserted: 0, alreadyHeld: 0, refused: [refusal]), end: end(more: false, VersionVector([a: 4])), local: local)
        #expect(push == .push(have: VersionVector([a: 4]), exclude: [a], proofRuns: [a: 4], budget: budget))
        let answer = SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: VersionVector([a: 4]), refused: [SyncWire.Refusal(origin: a, seq: 4, code: "fork", message: "fork")])
        guard case .done(let summary) = session.pushed(sent: 1, proofs: [a], result: answer, local: local) else {
            Issue.record("the proof is sent once; then nothing is left")
            return
        }
        #expect(summary.forks == 1 && summary.setAside.count == 1)
    }

    @Test func aHeadThePeerReportsDifferentIsAskedForAgainFromThatSeqOnce() {
        var session = SyncSession(budget: budget)
        let local = VersionVector([a: 9])
        _ = session.start(local: local)
        // The peer holds a up to 6, and its event 6 differs from ours: ask for a from 6 again.
        let probe = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: false, VersionVector([a: 6])), local: local, mismatchedHeads: [a: 6])
        #expect(probe == pullRequest(VersionVector([a: 6])))
        // The answer carried no fork (the peer's history changed meanwhile): no second probe.
        guard case .push = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: false, VersionVector([a: 6])), local: local, mismatchedHeads: [a: 6]) else {
            Issue.record("an origin is probed once a session")
            return
        }
    }

    @Test func originsSetAsideByAnEarlierRoundStayOutOfTheNext() {
        var session = SyncSession(mode: .pullThenPush, budget: budget, excluding: [b])
        let local = VersionVector([a: 2, b: 5])
        #expect(session.start(local: local) == pullRequest(local, exclude: [b]))
        guard case .push(_, let exclude, _, _) = session.pulled(received: 0, result: IngestResult(inserted: 0, alreadyHeld: 0), end: end(more: false, VersionVector()), local: local) else {
            Issue.record("a's events are to be pushed")
            return
        }
        #expect(exclude == [b])
        guard case .done(let summary) = session.pushed(sent: 2, result: .init(accepted: 2, alreadyHeld: 0, vector: VersionVector([a: 2])), local: local) else {
            Issue.record("b stays aside: nothing is left")
            return
        }
        #expect(summary.setAside.isEmpty, "set aside before the session: not reported again")
    }
}
