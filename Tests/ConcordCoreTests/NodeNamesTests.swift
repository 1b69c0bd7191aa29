import ConcordCore
import Testing

/// The one rule for the names people see: own over roster over self-asserted.
struct NodeNamesTests {
    @Test func ownIncarnationsThenTheRosterThenWhatACheckpointAsserts() {
        let (own, listed, asserted, unknown) = (OriginID(publicKey: [1]), OriginID(publicKey: [2]), OriginID(publicKey: [3]), OriginID(publicKey: [4]))
        let names = NodeNames.resolve(
            nodeName: "national-hub", own: [own],
            roster: [TrustedOrigin(origin: listed, label: "west-yorkshire", addedAt: 0), TrustedOrigin(origin: own, label: "not this", addedAt: 0)],
            checkpointSigners: [own: "hub", listed: "wy", asserted: "lancashire"]
        )
        #expect(names == [own: "national-hub", listed: "west-yorkshire", asserted: "lancashire (self-asserted)"])
        #expect(names[unknown] == nil)
        #expect(NodeNames.resolve(nodeName: "hub", own: [], roster: [], checkpointSigners: [:]).isEmpty)
    }
}
