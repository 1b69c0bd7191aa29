import ConcordCore
import ConcordSyncProtocol

/// The SQLite store as what sync needs from a node: the sync server (`concord serve`), the sync
/// client (`concord sync`, the demo) and the test harnesses that drive many peers in one process.
public struct SQLiteSyncBackend: SyncBackend {
    public let store: SQLiteEventStore

    public init(store: SQLiteEventStore) {
        self.store = store
    }

    public func nodeName() throws -> String { try store.nodeInfo().name }

    public var commits: CommitSignal { store.commits }

    public func versionVector() throws -> VersionVector { try store.versionVector() }

    public func originKey(_ origin: OriginID) throws -> OriginKey? { try store.originKey(origin) }

    public func eventHash(_ origin: OriginID, seq: UInt64) throws -> EventHash? { try store.eventHash(origin, seq: seq) }

    public func nextSeal(of origin: OriginID, after seq: UInt64) throws -> Seal? { try store.nextSeal(of: origin, after: seq) }

    public func events(of origin: OriginID, after: UInt64, through: UInt64) throws -> [Event] {
        guard through > after else { return [] }
        return try store.readOrigin(origin, afterSeq: after, limit: Int(clamping: through - after)).map(\.event)
    }

    public func ingest(_ batch: IngestBatch, from peer: String) throws -> IngestResult {
        try store.ingest(batch, source: "peer \(peer)", policy: .setAside)
    }

    public func catchUpReadModels() throws {
        try store.catchUpProjections()
    }

    public func authenticate(token: String) throws -> (peer: String, readOnly: Bool)? {
        try store.authenticate(token: token).map { ($0.name, $0.readOnly) }
    }

    public func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) throws {
        try store.recordSetAside(peer: peer, refused, replacing: false, stored: stored)
    }

    public func sharingPolicy(for peer: String) throws -> SharingPolicy {
        try store.sharingPolicy(for: peer)
    }

    public func openingsGeneration() throws -> UInt64 { try store.openingsGeneration() }

    public func withheld(storedAfter since: Int64, limit: Int) throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool) {
        try store.withheld(storedAfter: since, limit: limit)
    }

    public func stubsCursor() throws -> Int64 { try store.stubsCursor() }

    public func storeOpenings(_ events: [Event], from peer: String) throws -> SyncWire.OpeningsResult {
        let (stored, ignored) = try store.storeLateOpenings(events)
        return SyncWire.OpeningsResult(stored: stored, ignored: ignored)
    }

    public func openingsState(with peer: String) throws -> OpeningsState { try store.openingsState(with: peer) }

    public func recordOpeningsState(_ state: OpeningsState, with peer: String) throws { try store.recordOpeningsState(state, with: peer) }
}
