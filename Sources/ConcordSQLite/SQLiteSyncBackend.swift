import ConcordCore
import ConcordSyncProtocol
import ConcordProjections
import Dispatch

/// The SQLite store as what sync needs from a node: the sync server (`concord serve`), the sync
/// client (`concord sync`, the demo) and the test harnesses that drive many peers in one process.
///
/// SQLite's calls block: each is run on a Dispatch worker, off the cooperative threads that
/// serve requests (on two cores, two blocked cooperative threads would stall every request).
public struct SQLiteSyncBackend: HubBackend {
    public let store: SQLiteEventStore

    public init(store: SQLiteEventStore) {
        self.store = store
    }

    public func nodeName() async throws -> String { try await blocking { try store.nodeInfo().name } }

    public var commits: CommitSignal { store.commits }

    public func versionVector() async throws -> VersionVector { try await blocking { try store.versionVector() } }

    public func originKey(_ origin: OriginID) async throws -> OriginKey? { try await blocking { try store.originKey(origin) } }

    public func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash? { try await blocking { try store.eventHash(origin, seq: seq) } }

    public func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal? { try await blocking { try store.nextSeal(of: origin, after: seq) } }

    public func signCheckpoint() async throws { _ = try await blocking { try store.takeCheckpoint() } }

    public func takeCheckpoint() async throws -> Checkpoint? { try await blocking { try store.takeCheckpoint() } }

    public func heldCheckpoints() async throws -> [Checkpoint] { try await blocking { try store.checkpoints() } }

    public func checkpoint(of node: String, atOrBefore time: Int64) async throws -> Checkpoint? {
        try await blocking { try store.checkpoint(of: node, atOrBefore: time) }
    }

    public func checkpointNumbers() async throws -> VersionVector? {
        try await blocking { VersionVector(try store.checkpointNumbers()) }
    }

    public func heldCheckpoints(after numbers: [OriginID: UInt64], limit: Int) async throws -> [Checkpoint] {
        try await blocking { try store.checkpoints(after: numbers, limit: limit) }
    }

    public func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64? {
        try await blocking { try store.readOrigin(origin, afterSeq: seq, limit: 1).first?.event.seq }
    }

    public func seals(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Seal] {
        try await blocking { try store.seals(of: origin, after: after, through: through) }
    }

    public func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event] {
        try await blocking {
            guard through > after else { return [] }
            return try store.readOrigin(origin, afterSeq: after, limit: Int(clamping: through - after)).map(\.event)
        }
    }

    /// Stores a synced batch; when it stored events, this node then signs a checkpoint of what
    /// it holds (the end of a sync batch, on both sides: docs/audit.md), at most one a second, so
    /// that a hub taking many pushes a second does not grow its table as fast.
    public func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        try await blocking {
            let result = try store.ingest(batch, source: "peer \(peer)", policy: .setAside)
            if result.checkpointsRefused > 0 {
                store.logger.warning("checkpoints that do not verify were left out", metadata: ["peer": "\(peer)", "count": "\(result.checkpointsRefused)"])
            }
            if result.inserted > 0 {
                do { try store.takeCheckpoint(unlessWithin: 1000) } catch {
                    // The events are stored; the next batch or command signs what this one did not.
                    store.logger.warning("no checkpoint could be signed after a sync batch", metadata: ["error": "\(error)"])
                }
            }
            return result
        }
    }

    public func catchUpReadModels() async throws {
        _ = try await blocking { try store.catchUpProjections() }
    }

    public func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
        try await blocking {
            try store.authenticate(token: token).map { ($0.name, $0.readOnly) }
        }
    }

    public func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) async throws {
        try await blocking {
            try store.recordSetAside(peer: peer, refused, replacing: false, stored: stored)
        }
    }

    public func sharingPolicy(for peer: String) async throws -> SharingPolicy {
        try await blocking {
            try store.sharingPolicy(for: peer)
        }
    }

    public func openingsGeneration() async throws -> UInt64 { try await blocking { try store.openingsGeneration() } }

    public func withheld(storedAfter since: Int64, limit: Int) async throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool) {
        try await blocking {
            try store.withheld(storedAfter: since, limit: limit)
        }
    }

    public func stubsCursor() async throws -> Int64 { try await blocking { try store.stubsCursor() } }

    public func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult {
        try await blocking {
            let (stored, ignored) = try store.storeLateOpenings(events)
            return SyncWire.OpeningsResult(stored: stored, ignored: ignored)
        }
    }

    public func openingsState(with peer: String) async throws -> OpeningsState { try await blocking { try store.openingsState(with: peer) } }

    public func recordOpeningsState(_ state: OpeningsState, with peer: String) async throws { try await blocking { try store.recordOpeningsState(state, with: peer) } }

    // MARK: HubBackend

    public func ingest(_ batch: IngestBatch, source: String, policy: IngestPolicy) async throws -> IngestResult {
        try await blocking { try store.ingest(batch, source: source, policy: policy) }
    }

    public func issueToken(peer: String, readOnly: Bool) async throws -> String {
        try await blocking { try store.issueToken(peer: peer, readOnly: readOnly) }
    }

    public func issuedTokens() async throws -> [IssuedToken] { try await blocking { try store.issuedTokens() } }

    public func checkpointSignerNames() async throws -> [OriginID: String] { try await blocking { try store.checkpointSignerNames() } }

    public func revokeToken(peer: String) async throws -> Bool { try await blocking { try store.revokeToken(peer: peer) } }

    public func keptTokens() async throws -> [KeptToken] { try await blocking { try store.keptTokens() } }

    public func restoreTokens(_ tokens: [KeptToken]) async throws { try await blocking { try store.restoreTokens(tokens) } }

    public func sharingSettings() async throws -> SharingSettings { try await blocking { try store.sharingSettings() } }

    public func restoreSharing(_ settings: SharingSettings) async throws { try await blocking { try store.restoreSharing(settings) } }

    public func trustMode() async throws -> TrustMode { try await blocking { try store.trustMode() } }

    public func setTrustMode(_ mode: TrustMode) async throws { try await blocking { try store.setTrustMode(mode) } }

    public func trust(_ origin: OriginID, label: String) async throws { try await blocking { try store.trust(origin, label: label) } }

    public func distrust(_ origin: OriginID) async throws -> Bool { try await blocking { try store.distrust(origin) } }

    public func trustedOrigins() async throws -> [TrustedOrigin] { try await blocking { try store.trustedOrigins() } }

    public func syncPeers() async throws -> [SyncPeerSummary] {
        try await blocking { try store.peers().map { SyncPeerSummary(name: $0.name, url: $0.url, lastSync: $0.lastSync) } }
    }

    public func checkpointFaults(extra: [Checkpoint], extraKeys: [OriginKey]) async throws -> [VerificationFault] {
        try await blocking { try store.checkpointFaults(extra: extra, extraKeys: extraKeys) }
    }

    public func storageIntegrityProblem() async throws -> String? {
        try await blocking { let result = try store.integrityCheck(); return result == "ok" ? nil : result }
    }

    // MARK: The log as LogVerifier reads it

    public func originKeys() async throws -> [OriginKey] { try await blocking { try store.originKeys() } }

    public func eventOrigins() async throws -> [OriginID] { try await blocking { try store.eventOrigins() } }

    public func seals(of origin: OriginID) async throws -> [Seal] { try await blocking { try store.seals(of: origin) } }

    public func readOrigin(_ origin: OriginID, afterSeq: UInt64, limit: Int) async throws -> [StoredEvent] {
        try await blocking { try store.readOrigin(origin, afterSeq: afterSeq, limit: limit) }
    }

    public func ownOrigins() async throws -> [OriginID] { try await blocking { try store.incarnations().map(\.origin) } }

    public func changeSharing(_ change: SharingChange) async throws -> Bool {
        try change.validate()
        return try await blocking {
            switch change {
            case .addRule(let peer, let selector): return try store.addShareRule(peer: peer, selector)
            case .removeRule(let peer, let selector): return try store.removeShareRule(peer: peer, selector)
            case .setDefault(let value):
                try store.setShareDefault(value)
                return true
            case .keepLocal(let stream, let local): return try store.setLocal(stream, local)
            }
        }
    }

    public func readLog(afterPosition: Int64, limit: Int, matching filter: LogFilter, newestFirst: Bool) async throws -> [StoredEvent] {
        try await blocking {
            try store.readLog(afterPosition: afterPosition, limit: limit, stream: filter.stream, type: filter.type, origin: filter.originPrefix, newestFirst: newestFirst)
        }
    }

    public func eventCount() async throws -> Int { try await blocking { Int(try store.eventCount()) } }

    public func streamCount() async throws -> Int { try await blocking { Int(try store.streamCount()) } }

    public func ownOriginStatus() async throws -> NodeStatus.OwnOrigin? {
        try await blocking {
            let node = try store.nodeInfo()
            let newOriginReason: String? = switch try store.identityStatus() {
            case .current: nil
            case .willStartNewIncarnation(let reason): reason
            }
            return NodeStatus.OwnOrigin(
                origin: node.origin, createdAt: node.createdAt,
                incarnations: try store.incarnations().map { NodeStatus.OwnOrigin.Incarnation(origin: $0.origin, startedAt: $0.startedAt, reason: $0.reason) },
                newOriginReason: newOriginReason
            )
        }
    }

    public func unreadableForkClaims() async throws -> [ForkClaim] { try await blocking { try store.unreadableForkClaims() } }

    public func keptForkProofs() async throws -> [KeptForkProof] { try await blocking { try store.keptForkProofs() } }

    public func restoreForkProofs(_ proofs: [KeptForkProof]) async throws -> Int { try await blocking { try store.restoreForkProofs(proofs) } }

    public func setAsideOrigins() async throws -> [(peer: String, refusal: SyncWire.Refusal)] {
        try await blocking {
            try store.setAsideOrigins().map { ($0.peer, SyncWire.Refusal(origin: $0.origin, seq: $0.seq, code: $0.code, message: $0.message)) }
        }
    }

    public func readModelDigest() async throws -> String { try await blocking { try store.readModelDigest(.live) } }

    /// The SQLite store closes when the last reference to it goes.
    public func close() async {}

    /// Runs a blocking store call on a Dispatch worker and waits for it without blocking.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

extension SQLiteSyncBackend: ReadModelReader {
    public func projectionStatus() async throws -> ProjectionStatus { try await blocking { try store.projectionStatus() } }

    public func rebuildReadModels(progress: (@Sendable (Int, Int) -> Void)?) async throws -> Int {
        try await blocking { try store.rebuildProjections(progress: progress) }
    }

    public func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]]) {
        try await blocking { try store.queryReadModels(view, sql: sql, bindings) }
    }

    public func readModelDigest(_ view: ReadModelView) async throws -> String {
        try await blocking { try store.readModelDigest(view) }
    }

    public func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) async throws -> String {
        try await blocking { try store.readModelDigest(view, sharedWith: policy) }
    }

    public func checkReadModels() async throws -> ReadModelCheck? { try await blocking { try store.checkReadModels() } }

    public func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent] {
        try await blocking {
            let events = try store.readStream(stream, afterVersion: 0, limit: Int.max)
            guard view != .live else { return events }
            return try events.filter { view.includes($0.event, storedAt: try store.storedAt(position: $0.position)) }
        }
    }
}

extension SQLiteSyncBackend: RecordingBackend {
    public func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion]) async throws -> AppendResult {
        try await store.append(drafts, expecting: expecting)
    }

    public func appendAll(_ next: @escaping @Sendable () throws -> EventDraft?) async throws -> (count: Int, seal: Seal?) {
        try await blocking { try store.appendAll(next) }
    }

    public func writingOrigin() async throws -> OriginID { try await blocking { try store.writingOrigin() } }

    public func handovers() async throws -> [Handover] { try await blocking { try store.handovers() } }
}

extension SQLiteSyncBackend: SyncingBackend {
    public func knownPeers() async throws -> [KnownPeer] {
        try await blocking {
            try store.peers().map { KnownPeer(name: $0.name, url: $0.url, token: $0.token, lastSync: $0.lastSync, lastVector: $0.lastVector) }
        }
    }

    public func addPeer(name: String, url: String, token: String) async throws {
        try await blocking { try store.addPeer(name: name, url: url, token: token) }
    }

    public func recordSync(with peer: String, vector: VersionVector, setAside: [SyncWire.Refusal]) async throws {
        try await blocking {
            // Each is kept even when the other cannot be (the first failure is thrown after).
            var failure: (any Error)?
            do { try store.recordSync(peer: peer, vector: vector, vectorJSON: SyncWire.encode(vector)) } catch { failure = error }
            do { try store.recordSetAside(peer: peer, setAside) } catch { failure = failure ?? error }
            if let failure { throw failure }
        }
    }

    public func resealLongRuns() async throws -> Int { try await blocking { try store.resealLongRuns() } }

    public func watchOtherProcesses() -> any CommitWatch { store.watchOtherProcesses() }
}
