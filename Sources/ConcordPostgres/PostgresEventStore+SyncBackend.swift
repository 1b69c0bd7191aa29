import ConcordCore
import ConcordStorage
import NIOCore
import ConcordSyncProtocol

/// The PostgreSQL store as what sync needs from a node: `concord serve --store postgres://…`.
///
extension PostgresEventStore: HubBackend {
    public func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        try await ingest(batch, source: "peer \(peer)", policy: .setAside)
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

    public func forkedOrigins() async throws -> [OriginID] {
        Array(Set(try await forkProofs().map(\.origin))).sorted()
    }

    public func keptForkProofs() async throws -> [KeptForkProof] {
        try await read("read fork evidence") { connection in
            var kept: [KeptForkProof] = []
            let rows = try await connection.query(
                "SELECT origin, seq, held_hash, proof, source, detected_at FROM fork_proofs ORDER BY origin, seq", logger: self.logger
            ).decode((String, Int64, ByteBuffer, String, String, Int64).self)
            for try await (origin, seq, held, text, source, detected) in rows {
                guard let proof = ForkProof(
                    exchangeLines: text, origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq), heldHash: EventHash(bytes: Array(held.readableBytesView))
                ) else { continue }
                kept.append(KeptForkProof(proof: proof, source: source, detectedAt: detected))
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
