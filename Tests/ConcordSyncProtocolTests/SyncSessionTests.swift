import ConcordCore
import ConcordSyncProtocol
import Testing

struct SyncSessionTests {
    let a = OriginID(publicKey: [1])
    let b = OriginID(publicKey: [2])

    @Test func pullsUntilThePeerHasNoMoreThenPushesWhatItLacks() {
        var session = SyncSession(mode: .pullThenPush, maxEvents: 100)
        var local = VersionVector([a: 5])
        #expect(session.start(local: local) == .pull(.init(have: local, maxEvents: 100)))
        local[b] = 100
        let remote = VersionVector([b: 150])
        #expect(session.pulled(received: 100, inserted: 100, more: true, remote: remote, local: local) == .pull(.init(have: local, maxEvents: 100)))
        local[b] = 150
        // The peer lacks a's 5 events: push them, starting from what the peer has.
        #expect(session.pulled(received: 50, inserted: 50, more: false, remote: remote, local: local) == .push(have: remote))
        let after = SyncWire.PushResult(accepted: 5, alreadyHeld: 0, vector: VersionVector([a: 5, b: 150]))
        guard case .done(let summary) = session.pushed(sent: 5, result: after, local: local) else {
            Issue.record("the session should be done")
            return
        }
        #expect(summary.pulled == 150 && summary.pushed == 5 && summary.requests == 3)
    }

    @Test func aSecondSyncWithNothingMissingTransfersNothing() {
        var session = SyncSession()
        let both = VersionVector([a: 5, b: 7])
        _ = session.start(local: both)
        guard case .done(let summary) = session.pulled(received: 0, inserted: 0, more: false, remote: both, local: both) else {
            Issue.record("nothing to push: the session should be done")
            return
        }
        #expect(summary.pulled == 0 && summary.pushed == 0 && summary.requests == 1)
    }

    @Test func aPeerThatClaimsMoreButSendsNothingEndsTheSession() {
        var session = SyncSession()
        _ = session.start(local: VersionVector())
        guard case .failed = session.pulled(received: 0, inserted: 0, more: true, remote: VersionVector([a: 9]), local: VersionVector()) else {
            Issue.record("must not loop forever")
            return
        }
    }

    @Test func aPeerThatAcceptsNothingEndsTheSession() {
        var session = SyncSession(mode: .pushOnly)
        #expect(session.start(local: VersionVector([a: 3])) == .fetchRemoteVector)
        #expect(session.receivedRemoteVector(VersionVector(), local: VersionVector([a: 3])) == .push(have: VersionVector()))
        guard case .failed = session.pushed(sent: 3, result: .init(accepted: 0, alreadyHeld: 0, vector: VersionVector()), local: VersionVector([a: 3])) else {
            Issue.record("must not loop forever")
            return
        }
    }

    @Test func pullOnlyNeverPushes() {
        var session = SyncSession(mode: .pullOnly)
        _ = session.start(local: VersionVector([a: 3]))
        guard case .done = session.pulled(received: 0, inserted: 0, more: false, remote: VersionVector(), local: VersionVector([a: 3])) else {
            Issue.record("pull-only must finish after pulling")
            return
        }
    }
}
