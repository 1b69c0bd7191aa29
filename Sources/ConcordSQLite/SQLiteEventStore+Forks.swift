import ConcordCore
import ConcordStorage
import ConcordSyncProtocol

/// Fork evidence and the origins a sync set aside: what `status` and `verify` report.
extension SQLiteEventStore {
    /// Fork claims that do not read as a proof: those a release before fork proofs kept (the
    /// `forks` table, no seal: not evidence that the origin signed anything) and kept proofs
    /// whose text no longer parses (see `HubBackend.unreadableForkClaims`).
    public func unreadableForkClaims() throws -> [ForkClaim] {
        try withConnection("read fork evidence") { state in
            let connection = state.connection
            var claims: [ForkClaim] = []
            let proofs = try connection.prepare("SELECT origin, seq, held_hash, proof, source, detected_at FROM fork_proofs ORDER BY origin, seq")
            while try proofs.step() {
                let event = EventID(origin: OriginID(unchecked: proofs.text(0)), seq: UInt64(bitPattern: proofs.int64(1)))
                guard ForkProof(exchangeLines: proofs.text(3), origin: event.origin, seq: event.seq, heldHash: EventHash(bytes: proofs.blob(2))) == nil else { continue }
                claims.append(ForkClaim(event: event, source: proofs.text(4), detectedAt: proofs.int64(5)))
            }
            let legacy = try connection.prepare("SELECT origin, seq, source, detected_at FROM forks ORDER BY origin, seq")
            while try legacy.step() {
                claims.append(ForkClaim(
                    event: EventID(origin: OriginID(unchecked: legacy.text(0)), seq: UInt64(bitPattern: legacy.int64(1))),
                    source: legacy.text(2), detectedAt: legacy.int64(3)
                ))
            }
            return claims
        }
    }

    /// The fork proofs kept that read as proofs (claims of earlier releases, with no proof, are
    /// not), whether or not they still hold (`HubBackend.forkEvidence` checks).
    public func keptForkProofs() throws -> [KeptForkProof] {
        try withConnection("read fork evidence") { state in
            let rows = try state.connection.prepare("SELECT origin, seq, held_hash, proof, source, detected_at FROM fork_proofs ORDER BY origin, seq")
            var kept: [KeptForkProof] = []
            while try rows.step() {
                guard let proof = ForkProof(
                    exchangeLines: rows.text(3), origin: OriginID(unchecked: rows.text(0)), seq: UInt64(bitPattern: rows.int64(1)), heldHash: EventHash(bytes: rows.blob(2))
                ) else { continue }
                kept.append(KeptForkProof(proof: proof, source: rows.text(4), detectedAt: rows.int64(5)))
            }
            return kept
        }
    }

    /// Keeps another store's fork proofs that hold here (see `HubBackend.restoreForkProofs`).
    public func restoreForkProofs(_ proofs: [KeptForkProof]) throws -> Int {
        try withConnection("keep fork evidence") { state in
            try state.connection.transaction { try Ingest.restoreForkProofs(proofs, in: SQLiteIngestTransaction(state.connection)) }
        }
    }

    /// One origin a sync set aside.
    public struct SetAsideOrigin: Sendable, Equatable {
        public var peer: String
        public var origin: OriginID
        public var seq: UInt64
        public var code: String
        public var message: String
        public var recordedAt: Int64
    }

    /// Records origins a sync with `peer` set aside. With `replacing`, what the last sync with the
    /// peer recorded goes first (a client, at the end of a session); otherwise `stored` names
    /// origins whose events the peer has since got stored, whose old entries go (a server, push by
    /// push).
    public func recordSetAside(peer: String, _ refusals: [SyncWire.Refusal], replacing: Bool = true, stored: Set<OriginID> = []) throws {
        try withConnection("record the origins set aside by the sync with \(peer)") { state in
            let connection = state.connection
            // Most pushes refuse nothing and clear nothing: no write transaction (and no fsync) for them.
            if refusals.isEmpty, !replacing,
               try connection.scalarInt("SELECT 1 FROM set_aside WHERE peer = ? LIMIT 1", [.text(peer)]) == nil {
                return
            }
            try connection.transaction {
                var held: Set<OriginID> = []
                let rows = try connection.cached("SELECT origin FROM set_aside WHERE peer = ?")
                try rows.bind(1, peer)
                while try rows.step() { held.insert(OriginID(unchecked: rows.text(0))) }
                let change = SetAsideChange.of(held: held, refused: refusals, stored: stored, replacing: replacing)
                if change.forgetsAll { try connection.cached("DELETE FROM set_aside WHERE peer = ?").run([.text(peer)]) }
                for origin in change.forgotten {
                    try connection.cached("DELETE FROM set_aside WHERE peer = ? AND origin = ?").run([.text(peer), .text(origin.hex)])
                }
                let now = options.clock()
                for refusal in change.kept {
                    try connection.cached("INSERT OR REPLACE INTO set_aside (peer, origin, seq, code, message, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")
                        .run([.text(peer), .text(refusal.origin.hex), .integer(Int64(bitPattern: refusal.seq)), .text(refusal.code), .text(refusal.message), .integer(now)])
                }
            }
        }
    }

    /// The most origins kept as set aside for one peer.
    public static let maxSetAsidePerPeer = SyncLimits.maxSetAsidePerPeer

    /// The origins the last sync with each peer set aside.
    public func setAsideOrigins() throws -> [SetAsideOrigin] {
        try withConnection("read the origins set aside") { state in
            let statement = try state.connection.prepare("SELECT peer, origin, seq, code, message, recorded_at FROM set_aside ORDER BY peer, origin")
            var result: [SetAsideOrigin] = []
            while try statement.step() {
                result.append(SetAsideOrigin(
                    peer: statement.text(0), origin: OriginID(unchecked: statement.text(1)), seq: UInt64(bitPattern: statement.int64(2)),
                    code: statement.text(3), message: statement.text(4), recordedAt: statement.int64(5)
                ))
            }
            return result
        }
    }
}
