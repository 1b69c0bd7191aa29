import ConcordCore

/// What the commands that run a hub need from a store, whichever backend holds it (SQLite,
/// PostgreSQL, memory): sync (`SyncBackend`), tokens, the log in its global order, fork and
/// set-aside evidence, the log as `LogVerifier` reads it, and the read models' digest. `concord serve`, `token`, `digest`, `copy`
/// and `verify --store postgres://…` are written against it, and the conformance suite runs one
/// test body against each backend through it.
public protocol HubBackend: SyncBackend, VerifiableLog {
    /// Verifies and stores a batch by the same rules as `ingest(_:from:)`; with `.allOrNothing`
    /// (imports, copies) a refused origin refuses the whole batch and its first refusal is thrown.
    func ingest(_ batch: IngestBatch, source: String, policy: IngestPolicy) async throws -> IngestResult
    /// Issues a token for `peer` (replacing its earlier one) and returns it; only its digest is kept.
    func issueToken(peer: String, readOnly: Bool) async throws -> String
    func issuedTokens() async throws -> [IssuedToken]
    /// Revokes a peer's token, and forgets what was set aside of its pushes. False when none.
    func revokeToken(peer: String) async throws -> Bool
    /// The tokens as kept (digests only), and keeping them in another store: moving a hub
    /// (`concord copy`) keeps its peers' tokens working.
    func keptTokens() async throws -> [KeptToken]
    func restoreTokens(_ tokens: [KeptToken]) async throws
    /// The sharing rules, default and local streams whole, and taking them over from another store.
    func sharingSettings() async throws -> SharingSettings
    func restoreSharing(_ settings: SharingSettings) async throws
    /// Applies one change to the sharing settings (`SharingChange.apply`'s rule) in one
    /// transaction, telling peers to ask again for openings when it changed anything; false when
    /// the settings already were so.
    func changeSharing(_ change: SharingChange) async throws -> Bool
    /// Which origins ingest accepts (`TrustMode`): in strict mode only those on the roster and
    /// the node's own; the mode and the roster are the node's, whichever backend keeps them.
    func trustMode() async throws -> TrustMode
    func setTrustMode(_ mode: TrustMode) async throws
    /// Puts an origin on the roster, or relabels it.
    func trust(_ origin: OriginID, label: String) async throws
    /// Takes an origin off the roster (its events held stay); false when it was not on it.
    func distrust(_ origin: OriginID) async throws -> Bool
    func trustedOrigins() async throws -> [TrustedOrigin]
    /// The origins this node writes as (none for a hub that records nothing of its own).
    func ownOrigins() async throws -> [OriginID]
    /// The peers this node syncs with (`concord peer add`; none for a hub that only serves).
    func syncPeers() async throws -> [SyncPeerSummary]
    /// What the store's checkpoints, and `extra` ones (another copy's, `verify --against`), say
    /// about it (`Checkpoints.faults`): what `verify` reports. A signer whose key the store does
    /// not hold is checked with its key among `extraKeys`.
    func checkpointFaults(extra: [Checkpoint], extraKeys: [OriginKey]) async throws -> [VerificationFault]
    /// What the storage engine's own consistency check finds wrong (SQLite's
    /// `PRAGMA integrity_check`), nil when it finds nothing or the engine has no such check
    /// (PostgreSQL).
    func storageIntegrityProblem() async throws -> String?
    /// The log's events that `filter` matches, in position order after `afterPosition`: the
    /// first `limit` of them, or with `newestFirst` the last `limit` (still oldest first). A
    /// reader paging it never misses an event that commits later.
    func readLog(afterPosition: Int64, limit: Int, matching filter: LogFilter, newestFirst: Bool) async throws -> [StoredEvent]
    func eventCount() async throws -> Int
    /// How many streams hold events.
    func streamCount() async throws -> Int
    /// The origin this store writes as and its earlier ones; nil when it writes no events of
    /// its own (a PostgreSQL hub records none yet).
    func ownOriginStatus() async throws -> NodeStatus.OwnOrigin?
    /// The fork evidence kept (each proof that reads as one, whether or not it still holds:
    /// `forkEvidence` checks), and keeping another store's (`concord copy`): each proof is
    /// kept only when it `holds` against this store's key and held event, one an origin, as on
    /// arrival; returns how many were kept.
    func keptForkProofs() async throws -> [KeptForkProof]
    /// Fork claims kept that do not read as a proof: a claim an earlier release kept with no
    /// seal (SQLite's `forks` table), or a kept proof whose text no longer parses.
    func unreadableForkClaims() async throws -> [ForkClaim]
    func restoreForkProofs(_ proofs: [KeptForkProof]) async throws -> Int
    /// Every checkpoint held, by signer and number (none where no checkpoints are kept).
    func heldCheckpoints() async throws -> [Checkpoint]
    /// Signs what the store holds now with this node's key (`Checkpoints.take`) and returns the
    /// checkpoint that stands for now (nil when the store holds no event); throws where the
    /// store has no key to sign with.
    func takeCheckpoint() async throws -> Checkpoint?
    /// The newest checkpoint taken at or before `time` by the node `node` names (a node name,
    /// or a signer's origin id or its first 8 or more digits); nil when none is held.
    func checkpoint(of node: String, atOrBefore time: Int64) async throws -> Checkpoint?
    /// The node name each signer's newest held checkpoint asserts (none where no checkpoints
    /// are kept).
    func checkpointSignerNames() async throws -> [OriginID: String]
    /// The origins set aside, per peer.
    func setAsideOrigins() async throws -> [(peer: String, refusal: SyncWire.Refusal)]
    /// The digest over every read-model table, caught up with the log (`ReadModelDigest`).
    func readModelDigest() async throws -> String
    /// Releases the store's connections. Nothing may be asked of it after.
    func close() async
}

extension HubBackend {
    /// The name shown for each origin (`NodeNames.resolve`, the one rule).
    public func nodeNames() async throws -> [OriginID: String] {
        NodeNames.resolve(
            nodeName: try await nodeName(), own: try await ownOrigins(), roster: try await trustedOrigins(),
            checkpointSigners: try await checkpointSignerNames()
        )
    }

    /// What the store's own checkpoints say about it.
    public func checkpointFaults() async throws -> [VerificationFault] {
        try await checkpointFaults(extra: [], extraKeys: [])
    }

    /// The fork evidence kept, each proof checked again against this store's key of its origin
    /// and the event it holds at the proof's seq (`KeptForkProof.holds`, the rule on arrival):
    /// one that holds proves the origin signed two histories; one that does not (its event or
    /// key changed since, or edited in the store) and every unreadable claim prove nothing.
    public func forkEvidence() async throws -> ForkEvidence {
        var evidence = ForkEvidence(proven: [], unproven: try await unreadableForkClaims())
        for kept in try await keptForkProofs() {
            let proof = kept.proof
            if kept.holds(key: try await originKey(proof.origin), heldHash: try await eventHash(proof.origin, seq: proof.seq)) {
                evidence.proven.append(kept)
            } else {
                evidence.unproven.append(ForkClaim(event: EventID(origin: proof.origin, seq: proof.seq), source: kept.source, detectedAt: kept.detectedAt))
            }
        }
        evidence.unproven.sort { ($0.event.origin, $0.event.seq) < ($1.event.origin, $1.event.seq) }
        return evidence
    }

    /// The origins of which the store holds fork evidence that proves.
    public func forkedOrigins() async throws -> [OriginID] {
        try await forkEvidence().forkedOrigins
    }

    /// The whole log in position order after `afterPosition`, `limit` events at a time.
    public func readLog(afterPosition: Int64, limit: Int) async throws -> [StoredEvent] {
        try await readLog(afterPosition: afterPosition, limit: limit, matching: .everything, newestFirst: false)
    }
}

/// A fork claim that proves nothing: where and when it was kept, and the event it names.
public struct ForkClaim: Sendable, Equatable {
    /// The origin and the seq at which the claim says it signed two different events.
    public var event: EventID
    public var source: String
    public var detectedAt: Int64

    public init(event: EventID, source: String, detectedAt: Int64) {
        self.event = event
        self.source = source
        self.detectedAt = detectedAt
    }
}

/// The fork evidence a store keeps, checked again (`HubBackend.forkEvidence`).
public struct ForkEvidence: Sendable {
    /// Proofs that hold: the origin's key signed another history than the one held here.
    public var proven: [KeptForkProof]
    /// Claims that prove nothing, listed by `verify` as notes.
    public var unproven: [ForkClaim]

    public var forkedOrigins: [OriginID] { Array(Set(proven.map(\.proof.origin))).sorted() }
}

/// A peer this node syncs with, as `concord peer list` and the web view's overview show it.
public struct SyncPeerSummary: Sendable, Equatable {
    public var name: String
    public var url: String
    public var lastSync: Int64?

    public init(name: String, url: String, lastSync: Int64?) {
        self.name = name
        self.url = url
        self.lastSync = lastSync
    }
}

/// A store this node records its own events in: a region's file, or a PostgreSQL hub given its
/// signing key (the hub's origin). The steps are the engine's (`AppendWriter`) on both.
public protocol RecordingBackend: HubBackend {
    /// Appends in one transaction as this node's origin, each stream where `expecting` says
    /// (else `wrongExpectedVersion`, and nothing is stored); returns the events as stored and the
    /// seal over the new head. The read models are brought up to date by `catchUpReadModels`.
    func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion]) async throws -> AppendResult
    /// Appends the drafts `next` gives until it gives nil, in one transaction, as `append` does
    /// with no expected versions (`import --new`: a file's events, none held once inserted);
    /// nothing is stored when `next` throws. Returns how many and the seal over the new head
    /// (nil when none). `next` is called from the transaction's thread, one call at a time.
    func appendAll(_ next: @escaping @Sendable () throws -> EventDraft?) async throws -> (count: Int, seal: Seal?)
    /// The origin this node's next event is written as (a store file moved, copied or restored
    /// starts a new incarnation here, and signs the handover to it when its earlier key is
    /// beside it); throws where the store has no key to write with.
    func writingOrigin() async throws -> OriginID
    /// The signed handovers from this node's earlier incarnations to later ones (none where a
    /// node has only ever had one origin, as a PostgreSQL hub, whose origin is its key file's).
    func handovers() async throws -> [Handover]
}

/// A node that syncs out to peers of its own (`concord sync`, `concord peer`): a region's file.
/// A PostgreSQL hub only serves its peers, so it is none.
public protocol SyncingBackend: RecordingBackend {
    /// The peers this node names (`concord peer add`), with the token it presents to each.
    func knownPeers() async throws -> [KnownPeer]
    /// Names a peer (replacing one of that name) and keeps the token it presents to it.
    func addPeer(name: String, url: String, token: String) async throws
    /// What a sync with a named peer ended with: the peer's version vector, and the origins set
    /// aside over the whole sync (replacing what the sync before set aside).
    func recordSync(with peer: String, vector: VersionVector, setAside: [SyncWire.Refusal]) async throws
    /// Makes `commits` signal commits other processes make on the store too, until it is stopped.
    func watchOtherProcesses() -> any CommitWatch
    /// Seals this node's own runs of events longer than a peer verifies whole (an older
    /// release sealed a commit only at its end), so that every part of them syncs; changes no
    /// event. Returns how many seals it added.
    func resealLongRuns() async throws -> Int
}

/// A peer this node syncs with, as it keeps it.
public struct KnownPeer: Sendable {
    public var name: String
    public var url: String
    /// The token this node presents to the peer (nil when it is missing where it is kept).
    public var token: String?
    public var lastSync: Int64?
    /// The peer's version vector as of the last sync.
    public var lastVector: VersionVector?

    public init(name: String, url: String, token: String?, lastSync: Int64?, lastVector: VersionVector?) {
        self.name = name
        self.url = url
        self.token = token
        self.lastSync = lastSync
        self.lastVector = lastVector
    }
}
