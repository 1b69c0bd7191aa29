import ConcordCore
import ConcordStorage
import NIOCore
import ConcordSyncProtocol

/// The PostgreSQL store as what sync needs from a node: `concord serve --store postgres://…`.
///
extension PostgresEventStore: HubBackend {
    /// Stores a synced batch; when it stored events and the hub has a signing key, it then signs
    /// a checkpoint of what it holds, at most one a second (as a SQLite hub does).
    public func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        let result = try await ingest(batch, source: "peer \(peer)", policy: .setAside)
        if result.inserted > 0, checkpointSigner != nil {
            do { try await takeCheckpoint(unlessWithin: 1000) } catch {
                // The events are stored; the next batch or command signs what this one did not.
                logger.warning("no checkpoint could be signed after a sync batch", metadata: ["error": "\(error)"])
            }
        }
        return result
    }

    public func catchUpReadModels() async throws {
        try await foldNewEvents()
    }

    public func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
        try await authenticate(token: token).map { ($0.name, $0.readOnly) }
    }

    public func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult {
        let (stored, ignored) = try await storeLateOpenings(events)
        return SyncWire.OpeningsResult(stored: stored, ignored: ignored)
    }

    public func keptForkProofs() async throws -> [KeptForkProof] {
        try await forkProofRows().compactMap { row in
            ForkProof(exchangeLines: row.text, origin: row.event.origin, seq: row.event.seq, heldHash: row.held)
                .map { KeptForkProof(proof: $0, source: row.source, detectedAt: row.detectedAt) }
        }
    }

    /// The kept proofs whose text no longer parses (a PostgreSQL hub never kept unsealed claims).
    public func unreadableForkClaims() async throws -> [ForkClaim] {
        try await forkProofRows().filter { row in
            ForkProof(exchangeLines: row.text, origin: row.event.origin, seq: row.event.seq, heldHash: row.held) == nil
        }.map { ForkClaim(event: $0.event, source: $0.source, detectedAt: $0.detectedAt) }
    }

    private func forkProofRows() async throws -> [(event: EventID, held: EventHash, text: String, source: String, detectedAt: Int64)] {
        try await read("read fork evidence") { connection in
            var kept: [(event: EventID, held: EventHash, text: String, source: String, detectedAt: Int64)] = []
            let rows = try await connection.query(
                "SELECT origin, seq, held_hash, proof, source, detected_at FROM fork_proofs ORDER BY origin, seq", logger: self.logger
            ).decode((String, Int64, ByteBuffer, String, String, Int64).self)
            for try await (origin, seq, held, text, source, detected) in rows {
                kept.append((EventID(origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq)), EventHash(bytes: Array(held.readableBytesView)), text, source, detected))
            }
            return kept
        }
    }

    public func restoreForkProofs(_ proofs: [KeptForkProof]) async throws -> Int {
        try await run("keep fork evidence") { connection in
            try await self.runBlocking { try Ingest.restoreForkProofs(proofs, in: PostgresIngestTransaction(store: self, connection: connection)) }
        }
    }

    public func setAsideOrigins() async throws -> [(peer: String, refusal: SyncWire.Refusal)] {
        try await setAside()
    }
}
