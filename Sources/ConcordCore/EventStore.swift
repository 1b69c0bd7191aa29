/// The append-only event log, whatever holds it.
///
/// Implementations must keep the invariants in docs/architecture.md: nothing stored is changed or
/// removed; an origin's events are stored gap-free; each `append` is one atomic, durable commit;
/// the version vector is derived from the stored events.
public protocol EventStore: AnyObject, Sendable {
    /// The origin this store writes new events as (its current incarnation).
    var origin: OriginID { get throws }

    /// Appends drafts as new events of this node's origin, in one transaction, and seals the new
    /// chain head. Throws `wrongExpectedVersion` (and stores nothing) when a stream in
    /// `expecting` is not at the expected version.
    @discardableResult
    func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion]) throws -> AppendResult

    /// The number of events of the stream this node holds.
    func streamVersion(of stream: StreamID) throws -> Int

    /// A stream's events in the order they were stored, starting after `afterVersion`.
    func readStream(_ stream: StreamID, afterVersion: Int, limit: Int) throws -> [StoredEvent]

    /// An origin's events in seq order, starting after `afterSeq`.
    func readOrigin(_ origin: OriginID, afterSeq: UInt64, limit: Int) throws -> [StoredEvent]

    /// The whole log in local position order, starting after `afterPosition`.
    func readLog(afterPosition: Int64, limit: Int) throws -> [StoredEvent]

    /// `{origin: highest seq}` over the stored events.
    func versionVector() throws -> VersionVector

    /// Every origin that has events here, from the events themselves.
    func eventOrigins() throws -> [OriginID]

    /// The public keys recorded for origins.
    func originKeys() throws -> [OriginKey]

    /// An origin's seals in seq order.
    func seals(of origin: OriginID) throws -> [Seal]
}

extension EventStore {
    @discardableResult
    public func append(_ drafts: [EventDraft]) throws -> AppendResult {
        try append(drafts, expecting: [:])
    }
}
