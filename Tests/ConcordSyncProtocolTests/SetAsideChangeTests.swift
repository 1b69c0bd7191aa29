import ConcordCore
@testable import ConcordSyncProtocol
import Testing

/// The one rule for what a sync leaves set aside, at the edges of its limit.
struct SetAsideChangeTests {
    static let origins = (0..<6).map { OriginID(publicKey: [UInt8($0 + 1)]) }
    static func refusal(_ index: Int, seq: UInt64 = 1) -> SyncWire.Refusal {
        SyncWire.Refusal(origin: origins[index], seq: seq, code: "bad-signature", message: "m\(seq)")
    }

    @Test func aFullPeerKeepsRefusalsOfOriginsItHoldsAndNoNewOnes() {
        let held = Set(Self.origins[0..<3])
        let change = SetAsideChange.of(held: held, refused: [Self.refusal(3), Self.refusal(1, seq: 7)], stored: [], replacing: false, limit: 3)
        #expect(change == SetAsideChange(forgetsAll: false, forgotten: [], kept: [Self.refusal(1, seq: 7)]))
    }

    @Test func roomLeftIsFilledInOrderAndAStoredOriginMakesRoom() {
        let held = Set(Self.origins[0..<2])
        // One stored origin forgotten: two places, for the first two new origins only.
        let change = SetAsideChange.of(held: held, refused: [Self.refusal(2), Self.refusal(3), Self.refusal(4)], stored: [Self.origins[0], Self.origins[5]], replacing: false, limit: 3)
        #expect(change.forgotten == [Self.origins[0]])
        #expect(change.kept.map(\.origin) == [Self.origins[2], Self.origins[3]])
        // The limit exactly: one place left, taken; a second refusal of that origin replaces it.
        let exact = SetAsideChange.of(held: held, refused: [Self.refusal(2), Self.refusal(2, seq: 9), Self.refusal(3)], stored: [], replacing: false, limit: 3)
        #expect(exact.kept == [Self.refusal(2), Self.refusal(2, seq: 9)])
        #expect(SetAsideChange.of(held: held, refused: [Self.refusal(2)], stored: [], replacing: false, limit: 0).kept.isEmpty)
    }

    @Test func aClientReplacesWhatItsLastSessionSetAside() {
        let change = SetAsideChange.of(held: Set(Self.origins[0..<3]), refused: [Self.refusal(4), Self.refusal(5)], stored: [Self.origins[0]], replacing: true, limit: 1)
        #expect(change == SetAsideChange(forgetsAll: true, forgotten: [], kept: [Self.refusal(4)]))
        #expect(SetAsideChange.of(held: [], refused: [], stored: [Self.origins[0]], replacing: false).isEmpty)
    }
}
