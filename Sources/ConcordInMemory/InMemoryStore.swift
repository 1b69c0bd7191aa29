import ConcordCore
import ConcordStorage
import ConcordDomain
import ConcordProjections
import ConcordSyncProtocol
import Synchronization

/// A hub's store held in memory: the reference the conformance suite holds the SQLite and
/// PostgreSQL stores to, and a fast backend for simulations. It judges events by the same rules
/// (`BatchVerifier`) and folds them by the same rules (`ReadModelRows`); only where rows live
/// differs. Its read models are folded afresh from the log whenever they are read, so its
/// digest is the plain definition that the incremental folds of the other stores must equal.
public final class InMemoryStore: HubBackend {
    private struct State {
        var log: [StoredEvent] = []
        /// Index into `log` per (origin, seq - 1): origins are gap-free.
        var byOrigin: [OriginID: [Int]] = [:]
        var keys: [OriginID: OriginKey] = [:]
        var seals: [OriginID: [UInt64: Seal]] = [:]
        var streamVersions: [StreamID: Int] = [:]
        var tokens: [String: KeptToken] = [:]
        var setAside: [String: [OriginID: SyncWire.Refusal]] = [:]
        var forkProofs: [OriginID: KeptForkProof] = [:]
        var openingsGeneration: UInt64 = 0
        var openingsStates: [String: OpeningsState] = [:]
        var sharing = SharingSettings(rules: [], defaultRule: .full, localStreams: [])
        var trustMode = TrustMode.firstSight
        var roster: [OriginID: TrustedOrigin] = [:]
        /// Events of an earlier incarnation an erasure named before they were held: erased as
        /// they arrive (`Erasure`).
        var pendingErasures: [EventID: EventID] = [:]
    }

    private let name: String
    private let state = Mutex(State())
    private let clock: @Sendable () -> Int64
    public let commits = CommitSignal()

    public init(nodeName: String, clock: @escaping @Sendable () -> Int64 = { Timestamp.nowMillis() }) {
        name = nodeName
        self.clock = clock
    }

    public func nodeName() async throws -> String { name }

    // MARK: Ingest

    public func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        try await ingest(batch, source: "peer \(peer)", policy: .setAside)
    }

    public func ingest(_ batch: IngestBatch, source: String, policy: IngestPolicy) async throws -> IngestResult {
        let now = clock()
        let result = try state.withLock { state -> IngestResult in
            // The steps are the engine's (`Ingest`), the same on every backend. (Nothing throws
            // once the batch is verified: the memory store has no I/O to fail.)
            try withUnsafeMutablePointer(to: &state) { pointer in
                try Ingest.run(batch, source: source, policy: policy, now: now, widensGrants: { _, _ in false }, in: Transaction(state: pointer))
            }
        }
        if policy == .allOrNothing, let first = result.refused.first { throw first.error }
        if result.storedSomething { commits.signal() }
        return result
    }

    /// The in-memory driver's rows for `Ingest`, over the store's state under its lock.
    private struct Transaction: IngestTransaction, TokenTransaction {
        let state: UnsafeMutablePointer<State>

        // MARK: Tokens

        func keptTokens() throws -> [KeptToken] { state.pointee.tokens.values.sorted { $0.peer < $1.peer } }
        func keptToken(digest: [UInt8]) throws -> KeptToken? { state.pointee.tokens.values.first { $0.digest == digest } }
        func putToken(_ token: KeptToken) throws { state.pointee.tokens[token.peer] = token }
        func deleteToken(peer: String) throws -> Bool { state.pointee.tokens.removeValue(forKey: peer) != nil }
        func deleteSetAside(peer: String) throws { state.pointee.setAside[peer] = nil }

        // MARK: Ingest

        func lock(_ origins: [OriginID]) throws {}
        func originCountAndTrustMode() throws -> (origins: Int, trustMode: TrustMode) { (state.pointee.keys.count, state.pointee.trustMode) }
        func isOnRoster(_ origin: OriginID) throws -> Bool { state.pointee.roster[origin] != nil }
        /// The in-memory store writes as no origin of its own.
        func isOwnOrigin(_ origin: OriginID) throws -> Bool { false }

        func headAndKey(of origin: OriginID) throws -> (head: (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)?, key: OriginKey?) {
            let key = state.pointee.keys[origin]
            guard let last = state.pointee.byOrigin[origin]?.last else { return (nil, key) }
            let event = state.pointee.log[last].event
            return ((event.seq, event.hash, event.hlc), key)
        }

        func key(of origin: OriginID) throws -> OriginKey? { state.pointee.keys[origin] }

        func hashes(of origin: OriginID, seqs: [UInt64]) throws -> [UInt64: EventHash] {
            var hashes: [UInt64: EventHash] = [:]
            for seq in seqs {
                if let index = InMemoryStore.index(state.pointee, EventID(origin: origin, seq: seq)) { hashes[seq] = state.pointee.log[index].event.hash }
            }
            return hashes
        }

        func originCount() throws -> Int { state.pointee.keys.count }
        func keyOnlyOriginCount() throws -> Int { state.pointee.keys.keys.filter { state.pointee.byOrigin[$0] == nil }.count }
        func hasForkProof(of origin: OriginID) throws -> Bool { state.pointee.forkProofs[origin] != nil }

        func insertKey(_ key: OriginKey, at now: Int64) throws {
            if state.pointee.keys[key.origin] == nil { state.pointee.keys[key.origin] = key }
        }

        func insertEvents(_ events: [Event], at now: Int64) throws -> (streamVersions: [Int], pendingErasures: [(target: EventID, erasure: EventID)]) {
            (try insertEventRows(events, at: now), try takePendingErasures(Self.seqRanges(of: events)))
        }

        private func insertEventRows(_ events: [Event], at now: Int64) throws -> [Int] {
            events.map { event in
                let version = (state.pointee.streamVersions[event.stream] ?? 0) + 1
                state.pointee.streamVersions[event.stream] = version
                state.pointee.log.append(StoredEvent(event: event, position: Int64(state.pointee.log.count + 1), streamVersion: version))
                state.pointee.byOrigin[event.origin, default: []].append(state.pointee.log.count - 1)
                return version
            }
        }

        func insertSeals(_ seals: [Seal], at now: Int64) throws {
            for seal in seals where state.pointee.seals[seal.origin]?[seal.seq] == nil { state.pointee.seals[seal.origin, default: [:]][seal.seq] = seal }
        }

        func fillOpenings(_ events: [Event]) throws -> [StreamID] {
            var streams: [StreamID] = []
            for opening in events {
                guard let index = InMemoryStore.index(state.pointee, opening.id), state.pointee.log[index].event.disclosure == .withheld,
                      state.pointee.log[index].event.hash == opening.hash else { continue }
                streams.append(state.pointee.log[index].event.stream)
                state.pointee.log[index].event = opening
            }
            return streams
        }

        func eraseOpenings(_ targets: [EventID], by erasure: EventID) throws -> (erased: [StreamID], unheld: [EventID]) {
            var erased: [StreamID] = []
            var unheld: [EventID] = []
            for target in targets {
                guard let index = InMemoryStore.index(state.pointee, target) else {
                    unheld.append(target)
                    continue
                }
                var event = state.pointee.log[index].event
                guard event.commitment != nil, event.type.rawValue != Erasure.eventType, event.disclosure != .erased else { continue }
                event.withholdOpening(as: .erased)
                state.pointee.log[index].event = event
                erased.append(event.stream)
            }
            return (erased, unheld)
        }

        func addPendingErasures(_ targets: [EventID], by erasure: EventID) throws {
            for target in targets where state.pointee.pendingErasures[target] == nil { state.pointee.pendingErasures[target] = erasure }
        }

        private func takePendingErasures(_ ranges: [(origin: OriginID, seqs: ClosedRange<UInt64>)]) throws -> [(target: EventID, erasure: EventID)] {
            guard !state.pointee.pendingErasures.isEmpty else { return [] }
            var found: [(target: EventID, erasure: EventID)] = []
            for (target, erasure) in state.pointee.pendingErasures.sorted(by: { $0.key < $1.key })
            where ranges.contains(where: { $0.origin == target.origin && $0.seqs.contains(target.seq) }) {
                found.append((target, erasure))
                state.pointee.pendingErasures[target] = nil
            }
            return found
        }

        /// Its read models are folded when read: nothing to mark or catch up.
        func markForRefold(_ streams: Set<StreamID>) throws {}
        func catchUpReadModels() throws {}
        func bumpOpeningsGeneration() throws { state.pointee.openingsGeneration += 1 }
        /// Region and meeting rules are refused by `restoreSharing` here.
        func hasResolvedShareRules() throws -> Bool { false }

        func insertForkProof(_ proof: ForkProof, lines: String, source: String, at now: Int64) throws {
            state.pointee.forkProofs[proof.origin] = KeptForkProof(proof: proof, source: source, detectedAt: now)
        }

        func announceCommit() throws {}

        var keepsCheckpoints: Bool { false }
        func newestCheckpoint(of signer: OriginID) throws -> Checkpoint? { nil }
        func insertCheckpoint(_ checkpoint: Checkpoint, at now: Int64) throws -> Bool { false }
    }

    private static func index(_ state: State, _ id: EventID) -> Int? {
        guard let held = state.byOrigin[id.origin], id.seq >= 1, id.seq <= UInt64(held.count) else { return nil }
        return held[Int(id.seq) - 1]
    }

    // MARK: Reading

    public func versionVector() async throws -> VersionVector {
        state.withLock { state in VersionVector(state.byOrigin.mapValues { UInt64($0.count) }) }
    }

    public func originKey(_ origin: OriginID) async throws -> OriginKey? { state.withLock { $0.keys[origin] } }

    public func eventHash(_ origin: OriginID, seq: UInt64) async throws -> EventHash? {
        state.withLock { state in Self.index(state, EventID(origin: origin, seq: seq)).map { state.log[$0].event.hash } }
    }

    public func nextSeal(of origin: OriginID, after seq: UInt64) async throws -> Seal? {
        state.withLock { state in state.seals[origin]?.filter { $0.key > seq }.min { $0.key < $1.key }?.value }
    }

    public func events(of origin: OriginID, after: UInt64, through: UInt64) async throws -> [Event] {
        state.withLock { state in
            guard let held = state.byOrigin[origin], through > after else { return [] }
            let last = min(through, UInt64(held.count))
            guard last > after else { return [] }
            return held[Int(after)..<Int(last)].map { state.log[$0].event }
        }
    }

    /// Origins here are gap-free: the next seq, when held.
    public func nextHeldSeq(of origin: OriginID, after seq: UInt64) async throws -> UInt64? {
        state.withLock { state in seq < UInt64(state.byOrigin[origin]?.count ?? 0) ? seq + 1 : nil }
    }

    public func readLog(afterPosition: Int64, limit: Int, matching filter: LogFilter, newestFirst: Bool) async throws -> [StoredEvent] {
        state.withLock { state in
            let start = Int(clamping: max(0, afterPosition))
            guard start < state.log.count else { return [] }
            let matching = state.log[start...].lazy.filter { filter.matches($0.event) }
            return newestFirst ? Array(Array(matching).suffix(limit)) : Array(matching.prefix(limit))
        }
    }

    public func eventCount() async throws -> Int { state.withLock { $0.log.count } }

    // MARK: The log as LogVerifier reads it

    public func originKeys() async throws -> [OriginKey] { state.withLock { $0.keys.values.sorted { $0.origin < $1.origin } } }

    public func eventOrigins() async throws -> [OriginID] { state.withLock { $0.byOrigin.keys.sorted() } }

    public func seals(of origin: OriginID) async throws -> [Seal] {
        state.withLock { ($0.seals[origin] ?? [:]).values.sorted { $0.seq < $1.seq } }
    }

    public func readOrigin(_ origin: OriginID, afterSeq: UInt64, limit: Int) async throws -> [StoredEvent] {
        state.withLock { state in
            let indices = state.byOrigin[origin] ?? []
            let start = Int(clamping: min(afterSeq, UInt64(indices.count)))
            return indices[start..<(start + min(indices.count - start, max(0, limit)))].map { state.log[$0] }
        }
    }

    /// The memory store keeps no checkpoints.
    public func heldCheckpoints() async throws -> [Checkpoint] { [] }

    public func checkpoint(of node: String, atOrBefore time: Int64) async throws -> Checkpoint? { nil }

    public func takeCheckpoint() async throws -> Checkpoint? {
        throw ConcordError(.nodeKey, "a store held in memory has no key to sign checkpoints with")
    }

    /// The memory store syncs with no peer of its own.
    public func syncPeers() async throws -> [SyncPeerSummary] { [] }

    /// The memory store keeps no checkpoints of its own; another copy's are checked against
    /// what it holds by the one rule (`CheckpointAudit.faults`).
    public func checkpointFaults(extra: [Checkpoint], extraKeys: [OriginKey]) async throws -> [VerificationFault] {
        guard !extra.isEmpty else { return [] }
        return state.withLock { state in
            var keys: [OriginID: OriginKey] = [:]
            for signer in Set(extra.map(\.signer)) {
                if let key = state.keys[signer] ?? extraKeys.first(where: { $0.origin == signer }) { keys[signer] = key }
            }
            let held = VersionVector(state.byOrigin.mapValues { UInt64($0.count) })
            return CheckpointAudit.faults(of: extra, keys: keys, held: held) { origin, seq in
                Self.index(state, EventID(origin: origin, seq: seq)).map { state.log[$0].event.hash }
            }
        }
    }

    public func storageIntegrityProblem() async throws -> String? { nil }

    public func streamCount() async throws -> Int { state.withLock { $0.streamVersions.count } }

    /// The memory store writes as no origin of its own.
    public func ownOriginStatus() async throws -> NodeStatus.OwnOrigin? { nil }

    // MARK: Peers

    public func issueToken(peer: String, readOnly: Bool) async throws -> String {
        let now = clock()
        return try tokens { try PeerTokens.issue(peer: peer, readOnly: readOnly, at: now, in: $0) }
    }

    public func issuedTokens() async throws -> [IssuedToken] {
        try tokens { try PeerTokens.issued(in: $0) }
    }

    public func revokeToken(peer: String) async throws -> Bool {
        try tokens { try PeerTokens.revoke(peer: peer, in: $0) }
    }

    public func keptTokens() async throws -> [KeptToken] {
        try tokens { try $0.keptTokens() }
    }

    public func restoreTokens(_ tokens: [KeptToken]) async throws {
        try self.tokens { try PeerTokens.restore(tokens, in: $0) }
    }

    public func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
        try tokens { try PeerTokens.authenticate(token, in: $0) }.map { ($0.name, $0.readOnly) }
    }

    /// Runs `body` over the token rows under the lock.
    private func tokens<T: Sendable>(_ body: (Transaction) throws -> T) throws -> T {
        try state.withLock { state in try withUnsafeMutablePointer(to: &state) { try body(Transaction(state: $0)) } }
    }

    public func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) async throws {
        state.withLock { state in
            var held = state.setAside[peer] ?? [:]
            let change = SetAsideChange.of(held: Set(held.keys), refused: refused, stored: stored, replacing: false)
            for origin in change.forgotten { held[origin] = nil }
            for refusal in change.kept { held[refusal.origin] = refusal }
            state.setAside[peer] = held.isEmpty ? nil : held
        }
    }

    /// The memory store keeps no checkpoints: no signer asserts a name here.
    public func checkpointSignerNames() async throws -> [OriginID: String] { [:] }

    public func setAsideOrigins() async throws -> [(peer: String, refusal: SyncWire.Refusal)] {
        state.withLock { state in
            state.setAside.sorted { $0.key < $1.key }.flatMap { peer, refusals in
                refusals.values.sorted { $0.origin < $1.origin }.map { (peer, $0) }
            }
        }
    }

    /// The memory store keeps only proofs that read.
    public func unreadableForkClaims() async throws -> [ForkClaim] { [] }

    public func keptForkProofs() async throws -> [KeptForkProof] {
        state.withLock { state in state.forkProofs.keys.sorted().compactMap { state.forkProofs[$0] } }
    }

    public func restoreForkProofs(_ proofs: [KeptForkProof]) async throws -> Int {
        try state.withLock { state in
            try withUnsafeMutablePointer(to: &state) { pointer in try Ingest.restoreForkProofs(proofs, in: Transaction(state: pointer)) }
        }
    }

    // MARK: Openings

    /// Rules that name their streams (kinds, streams) apply; region and meeting rules, which
    /// resolve through SQL over the read models, are refused by `restoreSharing`.
    public func sharingPolicy(for peer: String) async throws -> SharingPolicy {
        state.withLock { state in
            SharingPolicy(
                peer: peer, rules: state.sharing.rules.filter { $0.peer == peer }.map(\.selector), defaultRule: state.sharing.defaultRule,
                localStreams: Set(state.sharing.localStreams)
            )
        }
    }

    public func sharingSettings() async throws -> SharingSettings { state.withLock { $0.sharing } }

    public func restoreSharing(_ settings: SharingSettings) async throws {
        if let rule = settings.rules.first(where: { SharingGrants.streamQueries(for: $0.selector) != nil }) {
            throw ConcordError(.invalidArgument, "a store in memory cannot resolve the rule \(rule.selector) (it has no read-model tables)")
        }
        state.withLock { state in
            state.sharing = settings
            state.openingsGeneration += 1
        }
    }

    // MARK: Trust

    public func trustMode() async throws -> TrustMode { state.withLock { $0.trustMode } }

    public func setTrustMode(_ mode: TrustMode) async throws { state.withLock { $0.trustMode = mode } }

    public func trust(_ origin: OriginID, label: String) async throws {
        try Identifier.validate(label, what: "label", maxLength: 100)
        let now = clock()
        state.withLock { $0.roster[origin] = TrustedOrigin(origin: origin, label: label, addedAt: now) }
    }

    public func distrust(_ origin: OriginID) async throws -> Bool { state.withLock { $0.roster.removeValue(forKey: origin) != nil } }

    public func trustedOrigins() async throws -> [TrustedOrigin] {
        state.withLock { $0.roster.values.sorted { ($0.label, $0.origin.hex) < ($1.label, $1.origin.hex) } }
    }

    public func ownOrigins() async throws -> [OriginID] { [] }

    public func changeSharing(_ change: SharingChange) async throws -> Bool {
        try change.validate()
        if case .addRule(_, let selector) = change, SharingGrants.streamQueries(for: selector) != nil {
            throw ConcordError(.invalidArgument, "the in-memory store cannot resolve \(selector) rules: they are SQL over the read models")
        }
        let now = clock()
        return state.withLock { state in
            let changed = change.apply(to: &state.sharing, at: now)
            if changed { state.openingsGeneration += 1 }
            return changed
        }
    }

    public func openingsGeneration() async throws -> UInt64 { state.withLock { $0.openingsGeneration } }

    public func withheld(storedAfter since: Int64, limit: Int) async throws -> (ranges: [SyncWire.StubRange], through: Int64, more: Bool) {
        state.withLock { state in
            var ids: [EventID] = []
            var through = since
            for stored in state.log where stored.position > since && stored.event.disclosure == .withheld {
                guard ids.count < limit else { return (SyncWire.ranges(of: ids.sorted()), through, true) }
                ids.append(stored.event.id)
                through = stored.position
            }
            return (SyncWire.ranges(of: ids.sorted()), through, false)
        }
    }

    public func stubsCursor() async throws -> Int64 {
        state.withLock { state in state.log.last { $0.event.disclosure == .withheld }?.position ?? 0 }
    }

    public func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult {
        let (stored, ignored) = try state.withLock { state in
            try withUnsafeMutablePointer(to: &state) { pointer in try Ingest.storeLateOpenings(events, in: Transaction(state: pointer)) }
        }
        if stored > 0 { commits.signal() }
        return SyncWire.OpeningsResult(stored: stored, ignored: ignored)
    }

    public func openingsState(with peer: String) async throws -> OpeningsState { state.withLock { $0.openingsStates[peer] ?? OpeningsState() } }

    public func recordOpeningsState(_ openings: OpeningsState, with peer: String) async throws {
        state.withLock { $0.openingsStates[peer] = openings }
    }

    // MARK: Read models

    /// Nothing to catch up: the read models are folded when read.
    public func catchUpReadModels() async throws {}

    public func readModelDigest() async throws -> String {
        let log = state.withLock { $0.log }
        var streams: [StreamID: [Event]] = [:]
        for stored in log where StreamKind.parse(stored.event.stream) != nil { streams[stored.event.stream, default: []].append(stored.event) }
        var tables: [String: [[SQLValue]]] = [:]
        for (stream, events) in streams {
            for (table, rows) in ReadModelRows.rows(stream: stream, events: events).tables { tables[table, default: []] += rows }
        }
        var digest = ReadModelDigest()
        for table in ReadModelSchema.tables { digest.add(table: table, rows: tables[table.name] ?? []) }
        return digest.finish()
    }

    public func close() async {}
}
