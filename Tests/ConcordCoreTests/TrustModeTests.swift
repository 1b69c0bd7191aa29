import ConcordCore
import Testing

/// The trust rule every backend applies, and how a kept mode reads back.
struct TrustModeTests {
    @Test func strictAcceptsOnlyTheRosterAndTheNodesOwnOrigins() {
        #expect(TrustMode.firstSight.accepts(onRoster: false, ownOrigin: false))
        #expect(!TrustMode.strict.accepts(onRoster: false, ownOrigin: false))
        #expect(TrustMode.strict.accepts(onRoster: true, ownOrigin: false))
        #expect(TrustMode.strict.accepts(onRoster: false, ownOrigin: true))
    }

    @Test func aMissingModeIsFirstSightAndAnUnreadableOneIsStrict() {
        #expect(TrustMode(stored: nil) == .firstSight)
        #expect(TrustMode(stored: "first-sight") == .firstSight)
        #expect(TrustMode(stored: "strict") == .strict)
        #expect(TrustMode(stored: "lenient") == .strict, "never more trust than was chosen")
        #expect(TrustMode(stored: "") == .strict)
    }
}
